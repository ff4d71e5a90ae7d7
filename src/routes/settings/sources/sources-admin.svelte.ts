import { api, ApiError } from '$lib/api/client.ts';

import { SOURCE_FORMATS, type SourceDto, type SourceFormat } from '$lib/protocol/api.ts';

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
}

/** The sources alerts come from, and how an admin adds one. */
export class SourcesAdmin {
  #sources = $state.raw<SourceDto[]>([]);
  #loaded = $state(false);
  #loadError = $state<string | null>(null);
  #revealed = $state<RevealedToken | null>(null);

  get sources(): SourceDto[] {
    return this.#sources;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get loadError(): string | null {
    return this.#loadError;
  }
  /** The new source's token to show, until the admin dismisses it. */
  get revealed(): RevealedToken | null {
    return this.#revealed;
  }

  async load(): Promise<void> {
    try {
      this.#sources = (await api<{ sources: SourceDto[] }>('GET', '/sources')).sources;
      this.#loadError = null;
    } catch (error) {
      this.#loadError = messageOf(error);
    } finally {
      this.#loaded = true;
    }
  }

  /** Adds a source with a server-generated token; throws ApiError (with `path`) when refused. */
  async add(input: CreateSourceInput): Promise<SourceDto> {
    const created = await api<{ source: SourceDto; token: string }>('POST', '/sources', input);
    this.#sources = [...this.#sources, created.source].sort((a, b) => a.name.localeCompare(b.name));
    this.#revealed = { ...created, signed: input.hmacSecret !== undefined };
    return created.source;
  }

  /**
   * Gives a Grafana source a new HMAC secret (replacing one, or one lost with the server's key); throws
   * ApiError when refused.
   */
  async setHmacSecret(source: SourceDto, hmacSecret: string): Promise<void> {
    const { source: updated } = await api<{ source: SourceDto }>('PUT', `/sources/${encodeURIComponent(source.id)}/hmac-secret`, { hmacSecret });
    this.#sources = this.#sources.map((s) => (s.id === updated.id ? updated : s));
  }

  dismissToken(): void {
    this.#revealed = null;
  }
}

function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'the server could not be reached';
}
