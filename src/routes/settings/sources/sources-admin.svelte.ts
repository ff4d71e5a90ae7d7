import { api, failureMessage } from '$lib/api/client.ts';
import { RowChanges } from '$lib/state/row-changes.svelte.ts';

import { SOURCE_FORMATS, type SourceDto, type SourceFormat, type SourceTokenDto } from '$lib/protocol/api.ts';

export { SOURCE_FORMATS, type SourceDto, type SourceFormat };

/** What the admin fills in; `client` is a slug, `hmacSecret` only for Grafana. */
export interface CreateSourceInput {
  name: string;
  format: SourceFormat;
  client?: string;
  hmacSecret?: string;
  rateLimitPerMinute?: number;
}

/** A token the server generated: shown once, then forgotten. */
export interface RevealedToken {
  source: SourceDto;
  token: string;
  /** A Grafana source that checks an HMAC signature. */
  signed: boolean;
  /** A new token for an existing source, rather than a new source's first. */
  rotated: boolean;
}

/** The sources alerts come from, and how an admin adds one, gives one a new token, disables or enables one. */
export class SourcesAdmin {
  #sources = $state.raw<SourceDto[]>([]);
  #loaded = $state(false);
  #loadError = $state<string | null>(null);
  #revealed = $state<RevealedToken | null>(null);
  #changes = new RowChanges();

  get sources(): SourceDto[] {
    return this.#sources;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get loadError(): string | null {
    return this.#loadError;
  }
  /** The new token to show, until the admin dismisses it. */
  get revealed(): RevealedToken | null {
    return this.#revealed;
  }
  /** The source whose change is on its way to the server. */
  get busyId(): string | null {
    return this.#changes.busyId;
  }
  /** The last refused change (`id`: the source's), shown on the row it concerns. */
  get rowError(): { id: string; message: string } | null {
    return this.#changes.refused;
  }

  async load(): Promise<void> {
    try {
      this.#sources = (await api<{ sources: SourceDto[] }>('GET', '/sources')).sources;
      this.#loadError = null;
    } catch (error) {
      this.#loadError = failureMessage(error);
    } finally {
      this.#loaded = true;
    }
  }

  /** Adds a source with a server-generated token; throws ApiError (with `path`) when refused. */
  async add(input: CreateSourceInput): Promise<SourceDto> {
    const created = await api<SourceTokenDto>('POST', '/sources', input);
    this.#sources = [...this.#sources, created.source].sort((a, b) => a.name.localeCompare(b.name));
    this.#changes.clear();
    this.#revealed = { ...created, signed: input.hmacSecret !== undefined, rotated: false };
    return created.source;
  }

  /**
   * Gives a Grafana source a new HMAC secret (replacing one, or one lost with the server's key); throws
   * ApiError when refused.
   */
  async setHmacSecret(source: SourceDto, hmacSecret: string): Promise<void> {
    const { source: updated } = await api<{ source: SourceDto }>('PUT', `/sources/${encodeURIComponent(source.id)}/hmac-secret`, { hmacSecret });
    this.#replace(updated);
  }

  /** Replaces the source's token and reveals the new one; senders using the old one are refused from now on. */
  async rotateToken(source: SourceDto): Promise<boolean> {
    return this.#changes.run(source.id, async () => {
      const rotated = await api<SourceTokenDto>('POST', `/sources/${encodeURIComponent(source.id)}/token`);
      this.#replace(rotated.source);
      this.#revealed = { ...rotated, signed: rotated.source.hmacSecretStatus === 'set', rotated: true };
    });
  }

  /** Disables the source (its webhooks are refused) or enables it again; a refusal lands on the row. */
  async setEnabled(source: SourceDto, enabled: boolean): Promise<boolean> {
    return this.#changes.run(source.id, async () => {
      const { source: updated } = await api<{ source: SourceDto }>('PATCH', `/sources/${encodeURIComponent(source.id)}`, { enabled });
      this.#replace(updated);
    });
  }

  dismissToken(): void {
    this.#revealed = null;
  }

  #replace(source: SourceDto): void {
    this.#sources = this.#sources.map((s) => (s.id === source.id ? source : s));
  }
}
