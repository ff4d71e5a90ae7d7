import { api, failureMessage } from '$lib/api/client.ts';
import type { AssignableUserDto, TeamDto } from '$lib/protocol/console.ts';

/** Where the pickers read people and teams (any signed-in user may read both). */
export const ASSIGNABLE_USERS_PATH = '/assignees';
export const TEAMS_PATH = '/teams';

/**
 * People and teams incidents can be assigned to, for the assign dialog, the filters and `team=mine`.
 * Loaded once per page and again on demand (after a team change).
 */
export class Directory {
  #users = $state.raw<AssignableUserDto[]>([]);
  #teams = $state.raw<TeamDto[]>([]);
  #loaded = $state(false);
  #error = $state<string | null>(null);

  get users(): AssignableUserDto[] {
    return this.#users;
  }
  get teams(): TeamDto[] {
    return this.#teams;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get error(): string | null {
    return this.#error;
  }

  /** Team ids the user belongs to. */
  teamIdsOf(userId: string): string[] {
    return this.#users.find((u) => u.id === userId)?.teamIds ?? this.#teams.filter((t) => t.members.some((m) => m.id === userId)).map((t) => t.id);
  }
  userName(id: string | null): string | null {
    return id === null ? null : (this.#users.find((u) => u.id === id)?.name ?? null);
  }
  teamName(id: string | null): string | null {
    return id === null ? null : (this.#teams.find((t) => t.id === id)?.name ?? null);
  }

  async load(): Promise<void> {
    const [users, teams] = await Promise.allSettled([
      api<AssignableUserDto[] | { users: AssignableUserDto[] }>('GET', ASSIGNABLE_USERS_PATH),
      api<TeamDto[] | { teams: TeamDto[] }>('GET', TEAMS_PATH),
    ]);
    if (users.status === 'fulfilled') this.#users = Array.isArray(users.value) ? users.value : users.value.users;
    if (teams.status === 'fulfilled') this.#teams = Array.isArray(teams.value) ? teams.value : teams.value.teams;
    const failed = [users, teams].find((r) => r.status === 'rejected');
    this.#error = failed?.status === 'rejected' ? failureMessage(failed.reason) : null;
    this.#loaded = true;
  }
}
