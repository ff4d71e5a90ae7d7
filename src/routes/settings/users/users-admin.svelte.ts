import { api, failureMessage } from '$lib/api/client.ts';
import { RowChanges } from '$lib/state/row-changes.svelte.ts';
import type { CreateUserRequest, CreatedUserDto, UpdateUserRequest, UserDto } from '$lib/protocol/api.ts';

/** A password the server generated: shown once, then forgotten. */
export interface RevealedPassword {
  kind: 'created' | 'reset';
  email: string;
  password: string;
}

/** The people who can sign in, and what an admin does to them. */
export class UsersAdmin {
  #users = $state.raw<UserDto[]>([]);
  #loaded = $state(false);
  #loadError = $state<string | null>(null);
  #changes = new RowChanges();
  #revealed = $state<RevealedPassword | null>(null);

  get users(): UserDto[] {
    return this.#users;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get loadError(): string | null {
    return this.#loadError;
  }
  /** The user whose change is on its way to the server. */
  get busyId(): string | null {
    return this.#changes.busyId;
  }
  /** The last refused change (`id`: the user's), shown on the row it concerns. */
  get rowError(): { id: string; message: string } | null {
    return this.#changes.refused;
  }
  /** The one-time password to show, until the admin dismisses it. */
  get revealed(): RevealedPassword | null {
    return this.#revealed;
  }

  async load(): Promise<void> {
    try {
      this.#users = (await api<{ users: UserDto[] }>('GET', '/users')).users;
      this.#loadError = null;
    } catch (error) {
      this.#loadError = failureMessage(error);
    } finally {
      this.#loaded = true;
    }
  }

  /** Adds a user with a server-generated one-time password; throws ApiError (with `path`) when refused. */
  async add(input: Omit<CreateUserRequest, 'password'>): Promise<UserDto> {
    const created = await api<CreatedUserDto>('POST', '/users', input);
    this.#users = [...this.#users, created.user].sort((a, b) => a.email.localeCompare(b.email));
    this.#changes.clear();
    this.#revealed = created.oneTimePassword
      ? { kind: 'created', email: created.user.email, password: created.oneTimePassword }
      : null;
    return created.user;
  }

  /** Changes role or access; a refusal (such as removing the last admin) lands on the row. */
  async update(id: string, patch: UpdateUserRequest): Promise<boolean> {
    return this.#changes.run(id, async () => {
      const { user } = await api<{ user: UserDto }>('PATCH', `/users/${encodeURIComponent(id)}`, patch);
      this.#replace(user);
    });
  }

  /** Signs the user out everywhere and reveals a new one-time password. */
  async resetPassword(id: string): Promise<boolean> {
    return this.#changes.run(id, async () => {
      const result = await api<{ user: UserDto; oneTimePassword?: string }>(
        'POST',
        `/users/${encodeURIComponent(id)}/reset-password`,
      );
      this.#replace(result.user);
      this.#revealed = result.oneTimePassword
        ? { kind: 'reset', email: result.user.email, password: result.oneTimePassword }
        : null;
    });
  }

  dismissPassword(): void {
    this.#revealed = null;
  }

  #replace(user: UserDto) {
    this.#users = this.#users.map((u) => (u.id === user.id ? user : u));
  }
}
