import type { ErrorBody, ErrorCode } from '$lib/protocol/errors.ts';

/** A refused API call, with the server's code and message (written for people). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly path: string | undefined;
  constructor(status: number, body: ErrorBody | null) {
    super(body?.error.message ?? `request failed (${status})`);
    this.status = status;
    this.code = body?.error.code ?? 'internal';
    this.path = body?.error.path;
  }
}

/**
 * What to tell people about a failed call: the server's message when it answered, else that it could not be
 * reached. (A network failure is a TypeError whose message, "Failed to fetch", means nothing to them.)
 */
export function failureMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'the server could not be reached';
}

/** JSON over fetch with the session cookie; throws ApiError for any non-2xx answer. */
export async function api<T>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  const data = (await response.json().catch(() => null)) as unknown;
  if (!response.ok) throw new ApiError(response.status, data as ErrorBody | null);
  return data as T;
}
