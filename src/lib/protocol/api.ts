import { z } from 'zod';

/** REST DTOs and request schemas under /api/v1, shared by the server (validation) and the app (types). */

export const ROLES = ['admin', 'lead', 'engineer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** What a role may do; the order is the order of power. */
export const ROLE_RANK: Record<Role, number> = { viewer: 0, engineer: 1, lead: 2, admin: 3 };

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
  createdAt: string;
}
export interface CreatedUserDto {
  user: UserDto;
  /** Present only when the server generated it; shown once. */
  oneTimePassword?: string;
}
