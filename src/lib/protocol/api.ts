import { z } from 'zod';

/** REST DTOs and request schemas under /api/v1, shared by the server (validation) and the app (types). */

// Plain values live outside this file: importing them into the app must not bring zod along.
import { ROLES, type Role } from '../domain/roles.ts';
export { ROLES, ROLE_RANK, type Role } from '../domain/roles.ts';

export const email = z
  .string()
  .trim()
  .max(254)
  .email('must be an email address')
  .transform((v) => v.toLowerCase());
export const password = z.string().min(10, 'must be at least 10 characters').max(256);

export const loginRequest = z.object({ email: z.string().trim().min(1).max(254), password: z.string().min(1).max(256) });
export type LoginRequest = z.infer<typeof loginRequest>;

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  mustChangePassword: boolean;
  /** Client slugs this user may see; null means every client. */
  clients: string[] | null;
  onShift: boolean;
  /** Chime for new criticals in the console (per user, off by default). */
  chime: boolean;
}
export interface SessionResponse {
  user: SessionUser;
  expiresAt: string;
}

export const createUserRequest = z.object({
  email,
  name: z.string().trim().min(1).max(200),
  role: z.enum(ROLES),
  /** Omitted: the server generates a one-time password and returns it once. */
  password: password.optional(),
});
export type CreateUserRequest = z.infer<typeof createUserRequest>;

export const updateUserRequest = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    role: z.enum(ROLES).optional(),
    disabled: z.boolean().optional(),
    /** Client slugs the user may see (null = every client). A change signs the user out everywhere. */
    clients: z
      .array(z.string().trim().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a client slug (lowercase letters, digits, dashes)'))
      .max(500)
      .transform((list) => [...new Set(list)].sort())
      .nullable()
      .optional(),
  })
  .strict();
export type UpdateUserRequest = z.infer<typeof updateUserRequest>;

export const changePasswordRequest = z.object({ currentPassword: z.string().min(1).max(256), newPassword: password });

export interface UserDto {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  mustChangePassword: boolean;
  clients: string[] | null;
  onShift: boolean;
  createdAt: string;
}
export interface CreatedUserDto {
  user: UserDto;
  /** Present only when the server generated it; shown once. */
  oneTimePassword?: string;
}

/** The webhook formats Watchfloor accepts. */
export const SOURCE_FORMATS = ['alertmanager', 'grafana', 'pagerduty', 'generic'] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

export const createSourceRequest = z.object({
  name: z.string().trim().min(1).max(100),
  format: z.enum(SOURCE_FORMATS),
  client: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a client slug (lowercase letters, digits, dashes)')
    .optional(),
  clientLabel: z.string().min(1).max(100).optional(),
  nodeLabel: z.string().min(1).max(100).optional(),
  groupBy: z.array(z.string().min(1).max(100)).max(10).optional(),
  rateLimitPerMinute: z.number().int().positive().max(1_000_000).optional(),
  /** Grafana only: verify its HMAC signature header with this secret. */
  hmacSecret: z.string().min(8).max(256).optional(),
});
export type CreateSourceRequest = z.infer<typeof createSourceRequest>;

/** A new HMAC secret for a Grafana source (`PUT /api/v1/sources/:id/hmac-secret`): replaces the one it had, or a lost one. */
export const setSourceHmacSecretRequest = z.object({ hmacSecret: createSourceRequest.shape.hmacSecret.unwrap() });
export type SetSourceHmacSecretRequest = z.infer<typeof setSourceHmacSecretRequest>;

/** Disables a source (its token is refused, nothing it sends is stored) or enables it again (`PATCH /api/v1/sources/:id`). */
export const updateSourceRequest = z.object({ enabled: z.boolean() }).strict();
export type UpdateSourceRequest = z.infer<typeof updateSourceRequest>;

/**
 * Whether a source checks a signature: `none`, `set`, or `lost` — cleared by `watchfloor secrets reset`
 * after the server's key was lost, and until an admin sets a new one the source refuses every webhook.
 */
export type HmacSecretStatus = 'none' | 'set' | 'lost';

/** An inbound integration as the server lists it: the token itself is never sent again, only its prefix. */
export interface SourceDto {
  id: string;
  name: string;
  format: SourceFormat;
  tokenPrefix: string;
  defaultClient: string | null;
  mapping: { clientLabel: string; nodeLabel: string; groupBy: string[] };
  rateLimitPerMinute: number | null;
  enabled: boolean;
  hmacSecretStatus: HmacSecretStatus;
  createdAt: string;
}

/**
 * A source with its token, shown this once: when it is created (`POST /api/v1/sources`) or given a new one
 * (`POST /api/v1/sources/:id/token`, after which the old one no longer works).
 */
export interface SourceTokenDto {
  source: SourceDto;
  token: string;
}
