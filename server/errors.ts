import type { z } from 'zod';
import { formatIssue, STATUS_OF, type ErrorBody, type ErrorCode } from '../src/lib/protocol/errors.ts';

/** A failure the client is allowed to see: a known code and a message written for people. */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  constructor(code: ErrorCode, message: string, path?: string) {
    super(message);
    this.code = code;
    this.path = path;
  }
  get status(): number {
    return STATUS_OF[this.code];
  }
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.path ? { path: this.path } : {}) } };
  }
}

/** Parses `input` with `schema` or throws a validation_failed DomainError naming the first bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what = 'body'): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const { path, message } = formatIssue(result.error);
  throw new DomainError('validation_failed', `${path ? `${what}.${path}` : what}: ${message}`, path || undefined);
}
