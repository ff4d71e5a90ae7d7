import { api, ApiError, failureMessage } from '$lib/api/client.ts';
import type { UserDto } from '$lib/protocol/api.ts';
import type { TeamDto } from '$lib/protocol/console.ts';

/** The admin's teams page: teams with members, and every user to add to them. */
export class TeamsAdmin {
  #teams = $state.raw<TeamDto[]>([]);
  #users = $state.raw<UserDto[]>([]);
  #loaded = $state(false);
  #error = $state<{ message: string; path?: string } | null>(null);
  #busy = $state(false);

  get teams(): TeamDto[] {
    return this.#teams;
  }
  get users(): UserDto[] {
    return this.#users;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  /** The last refusal, with the field at fault when the server named one. */
  get error(): { message: string; path?: string } | null {
    return this.#error;
  }
  get busy(): boolean {
    return this.#busy;
  }

  async load(): Promise<void> {
    try {
      const [teams, users] = await Promise.all([
        api<{ teams: TeamDto[] }>('GET', '/teams'),
        api<{ users: UserDto[] }>('GET', '/users'),
      ]);
      this.#teams = teams.teams;
      this.#users = users.users.filter((u) => !u.disabled);
      this.#error = null;
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#loaded = true;
    }
  }

  create(slug: string, name: string): Promise<boolean> {
    return this.#run(() => api('POST', '/teams', { slug, name }));
  }
  rename(id: string, patch: { slug?: string; name?: string }): Promise<boolean> {
    return this.#run(() => api('PATCH', `/teams/${id}`, patch));
  }
  remove(id: string): Promise<boolean> {
    return this.#run(() => api('DELETE', `/teams/${id}`));
  }
  addMember(id: string, userId: string): Promise<boolean> {
    return this.#run(() => api('POST', `/teams/${id}/members`, { userId }));
  }
  removeMember(id: string, userId: string): Promise<boolean> {
    return this.#run(() => api('DELETE', `/teams/${id}/members/${userId}`));
  }
  dismissError(): void {
    this.#error = null;
  }

  /** Runs a change, then reloads (the server is the truth). */
  async #run(change: () => Promise<unknown>): Promise<boolean> {
    this.#busy = true;
    try {
      await change();
      this.#error = null;
      await this.load();
      return true;
    } catch (error) {
      this.#fail(error);
      return false;
    } finally {
      this.#busy = false;
    }
  }

  #fail(error: unknown): void {
    this.#error = { message: failureMessage(error), path: error instanceof ApiError ? error.path : undefined };
  }
}
