import { api, ApiError, failureMessage } from '$lib/api/client.ts';
import type { IncidentDetailDto } from '$lib/protocol/console.ts';
import type { IncidentDto } from '$lib/protocol/incidents.ts';
import type { IncidentsState } from '$lib/state/incidents.svelte.ts';

/**
 * One incident's page: its detail (alerts, timeline) from REST, kept current by the live feed —
 * when the feed shows a new version of the incident (or it leaves the open set), the detail is
 * fetched again, so the timeline grows as people act, wherever they act from.
 */
export class IncidentDetailState {
  #detail = $state.raw<IncidentDetailDto | null>(null);
  #error = $state<{ status: number; message: string } | null>(null);
  #loading = $state(false);
  #seenVersion = -1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #offApplied: (() => void) | null = null;
  #closed = false;
  readonly id: string;

  constructor(id: string) {
    this.id = id;
  }

  get detail(): IncidentDetailDto | null {
    return this.#detail;
  }
  get incident(): IncidentDto | null {
    return this.#detail?.incident ?? null;
  }
  get error(): { status: number; message: string } | null {
    return this.#error;
  }
  get loading(): boolean {
    return this.#loading;
  }

  /** Follows the live feed: any change to this incident reloads the detail (debounced). */
  follow(feed: IncidentsState): void {
    this.#offApplied?.();
    this.#offApplied = feed.onApplied((applied) => {
      const touched =
        applied.snapshot ||
        applied.added.some((i) => i.id === this.id) ||
        applied.updated.some((u) => u.after.id === this.id) ||
        applied.removed.some((i) => i.id === this.id);
      if (!touched) return;
      const live = feed.get(this.id);
      if (applied.snapshot && live && live.version === this.#seenVersion) return;
      this.#scheduleReload();
    });
  }

  #scheduleReload(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.load(), 150);
  }

  async load(): Promise<void> {
    this.#loading = true;
    try {
      const detail = await api<IncidentDetailDto>('GET', `/incidents/${encodeURIComponent(this.id)}`);
      if (this.#closed) return;
      this.#detail = detail;
      this.#seenVersion = detail.incident.version;
      this.#error = null;
    } catch (error) {
      if (this.#closed) return;
      this.#error = { status: error instanceof ApiError ? error.status : 0, message: failureMessage(error) };
    } finally {
      this.#loading = false;
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#offApplied?.();
  }
}
