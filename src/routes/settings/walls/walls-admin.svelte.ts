import { api, ApiError, failureMessage } from '$lib/api/client.ts';
import type { CreateWallRequest, WallDto, WallPage, WallWithTokenDto } from '$lib/protocol/walls.ts';
import { DEFAULT_WALL_PAGE } from '$lib/protocol/walls.ts';
import type { TopologyClientDto, TopologyDto } from '$lib/protocol/topology.ts';

/** A wall being edited: everything but the token. */
export interface WallDraft {
  id: string | null;
  version: number | null;
  name: string;
  /** null = every client. */
  clients: string[] | null;
  pages: WallPage[];
  chime: { enabled: boolean; repeatMinutes: number };
  pixelShift: boolean;
  /** IANA zone of the heatmap's days; '' = the server's. */
  timeZone: string;
}

export function newDraft(): WallDraft {
  return { id: null, version: null, name: '', clients: null, pages: [structuredClone(DEFAULT_WALL_PAGE)], chime: { enabled: false, repeatMinutes: 5 }, pixelShift: true, timeZone: '' };
}

export function draftOf(wall: WallDto): WallDraft {
  return { id: wall.id, version: wall.version, name: wall.name, clients: wall.clients, pages: structuredClone(wall.pages), chime: { ...wall.chime }, pixelShift: wall.pixelShift, timeZone: wall.timeZone ?? '' };
}

/** Walls for admins and leads: list, create, edit, rotate and revoke tokens (shown once), delete. */
export class WallsAdmin {
  #walls = $state.raw<WallDto[]>([]);
  #clients = $state.raw<TopologyClientDto[]>([]);
  #serverTimeZone = $state('UTC');
  #loaded = $state(false);
  #error = $state<{ message: string; path?: string } | null>(null);
  #revealed = $state.raw<{ wall: WallDto; link: string; rotated: boolean } | null>(null);
  #busy = $state(false);

  get walls(): WallDto[] {
    return this.#walls;
  }
  get clients(): TopologyClientDto[] {
    return this.#clients;
  }
  /** The zone of walls that set none (WATCHFLOOR_TIMEZONE). */
  get serverTimeZone(): string {
    return this.#serverTimeZone;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get error(): { message: string; path?: string } | null {
    return this.#error;
  }
  /** A device link just issued: shown once, then forgotten. */
  get revealed(): { wall: WallDto; link: string; rotated: boolean } | null {
    return this.#revealed;
  }
  get busy(): boolean {
    return this.#busy;
  }

  async load(): Promise<void> {
    const [walls, topology, info] = await Promise.all([
      api<{ walls: WallDto[] }>('GET', '/walls'),
      api<TopologyDto>('GET', '/topology'),
      api<{ timeZone: string }>('GET', '/info'),
    ]);
    this.#walls = walls.walls;
    this.#clients = topology.clients;
    this.#serverTimeZone = info.timeZone;
    this.#loaded = true;
  }

  async #run<T>(work: () => Promise<T>): Promise<T | null> {
    this.#busy = true;
    this.#error = null;
    try {
      return await work();
    } catch (error) {
      this.#error = { message: failureMessage(error), path: error instanceof ApiError ? error.path : undefined };
      return null;
    } finally {
      this.#busy = false;
    }
  }

  #reveal(created: WallWithTokenDto, rotated: boolean): void {
    this.#revealed = { wall: created.wall, link: `${location.origin}${created.openPath}`, rotated };
  }

  dismissLink(): void {
    this.#revealed = null;
  }

  /** Saves a draft (create or update); returns the saved wall. */
  async save(draft: WallDraft): Promise<WallDto | null> {
    const timeZone = draft.timeZone.trim();
    const body: CreateWallRequest = { name: draft.name, clients: draft.clients, pages: draft.pages, chime: draft.chime, pixelShift: draft.pixelShift, timeZone: timeZone === '' ? null : timeZone };
    return this.#run(async () => {
      if (draft.id === null) {
        const created = await api<WallWithTokenDto>('POST', '/walls', body);
        this.#reveal(created, false);
        await this.load();
        return created.wall;
      }
      const updated = await api<WallDto>('PATCH', `/walls/${draft.id}`, { ...body, version: draft.version ?? undefined });
      await this.load();
      return updated;
    });
  }

  async rotate(wall: WallDto): Promise<void> {
    await this.#run(async () => {
      this.#reveal(await api<WallWithTokenDto>('POST', `/walls/${wall.id}/token`), true);
      await this.load();
    });
  }

  async revoke(wall: WallDto): Promise<void> {
    await this.#run(async () => {
      await api('DELETE', `/walls/${wall.id}/token`);
      await this.load();
    });
  }

  async remove(wall: WallDto): Promise<void> {
    await this.#run(async () => {
      await api('DELETE', `/walls/${wall.id}`);
      await this.load();
    });
  }
}
