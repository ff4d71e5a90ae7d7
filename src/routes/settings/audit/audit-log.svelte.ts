import { api, ApiError } from '$lib/api/client.ts';
import type { AuditEntryDto, AuditPage } from '$lib/protocol/console.ts';

/** The audit page's filters, as they travel in the URL. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  entity?: string;
  entityId?: string;
  /** ISO date-times. */
  from?: string;
  to?: string;
}

const KEYS = ['actor', 'action', 'entity', 'entityId', 'from', 'to'] as const;

export function auditFilterFromParams(params: URLSearchParams): AuditFilter {
  const filter: AuditFilter = {};
  for (const key of KEYS) {
    const value = params.get(key)?.trim();
    if (value) filter[key] = value.slice(0, 200);
  }
  return filter;
}

export function auditFilterToParams(filter: AuditFilter): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of KEYS) if (filter[key]) params.set(key, filter[key]!);
  return params;
}

/** The audit log, newest first, one page of 100 at a time ("older" appends the next). */
export class AuditLogState {
  #entries = $state.raw<AuditEntryDto[]>([]);
  #nextBefore = $state<number | null>(null);
  #loading = $state(false);
  #error = $state<string | null>(null);
  #filter: AuditFilter = {};

  get entries(): AuditEntryDto[] {
    return this.#entries;
  }
  get hasMore(): boolean {
    return this.#nextBefore !== null;
  }
  get loading(): boolean {
    return this.#loading;
  }
  get error(): string | null {
    return this.#error;
  }

  async load(filter: AuditFilter): Promise<void> {
    this.#filter = filter;
    this.#entries = [];
    this.#nextBefore = null;
    await this.#fetch(null);
  }

  async more(): Promise<void> {
    if (this.#nextBefore !== null) await this.#fetch(this.#nextBefore);
  }

  async #fetch(before: number | null): Promise<void> {
    this.#loading = true;
    const params = auditFilterToParams(this.#filter);
    if (before !== null) params.set('before', String(before));
    try {
      const page = await api<AuditPage>('GET', `/audit?${params}`);
      this.#entries = before === null ? page.entries : [...this.#entries, ...page.entries];
      this.#nextBefore = page.nextBefore;
      this.#error = null;
    } catch (error) {
      this.#error = error instanceof ApiError ? error.message : 'could not load the audit log';
    } finally {
      this.#loading = false;
    }
  }
}
