import type { WallDisplayDto, UptimeRange } from '$lib/protocol/walls.ts';
import type { TopologyDto } from '$lib/protocol/topology.ts';
import type { UptimeDto } from '$lib/protocol/uptime.ts';
import { withPositions } from './layout-client.ts';

/** Where a wall's data comes from: its own routes (device cookie) or, for /map, the user's. */
export interface WallSource {
  display?: string;
  topology: string;
  uptime: string;
}

export function wallSource(wallId: string): WallSource {
  const base = `/api/v1/walls/${encodeURIComponent(wallId)}`;
  return { display: `${base}/display`, topology: `${base}/topology`, uptime: `${base}/uptime` };
}

export const USER_SOURCE: WallSource = { topology: '/api/v1/topology', uptime: '/api/v1/uptime' };

/** A refused request (401/403): the screen is not (or no longer) allowed in. */
export class NotAllowed extends Error {}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (response.status === 401 || response.status === 403) throw new NotAllowed(`refused (${response.status})`);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return (await response.json()) as T;
}

/** A random pause, so fifty walls told the same news do not all ask at the same instant. */
const jitter = (maxMs: number) => new Promise((r) => setTimeout(r, Math.random() * maxMs));

/**
 * What a wall (or the /map page) draws besides incidents: its layout, the topology, the uptime
 * roll-ups, live link utilisation. Reloaded when the server says they changed; a failed reload keeps
 * the last good data (the STALE banner covers being out of date).
 */
export class WallData {
  #display = $state.raw<WallDisplayDto | null>(null);
  #topology = $state.raw<TopologyDto | null>(null);
  #uptime = $state.raw<Record<string, UptimeDto>>({});
  #utilisation = $state.raw<Map<string, number | null>>(new Map());
  #notAllowed = $state(false);
  #wanted = new Set<string>();
  #timeZone: string | null = null;
  #topologyLoading: Promise<void> | null = null;
  readonly #source: WallSource;

  constructor(source: WallSource) {
    this.#source = source;
  }

  get display(): WallDisplayDto | null {
    return this.#display;
  }
  get topology(): TopologyDto | null {
    return this.#topology;
  }
  /** Live utilisation values newer than the topology's. */
  get utilisation(): Map<string, number | null> {
    return this.#utilisation;
  }
  /** True once the server refused this screen's credentials. */
  get notAllowed(): boolean {
    return this.#notAllowed;
  }
  uptime(range: UptimeRange, client?: string): UptimeDto | null {
    return this.#uptime[`${range}|${client ?? ''}`] ?? null;
  }

  async #guard<T>(work: () => Promise<T>): Promise<T | null> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof NotAllowed) this.#notAllowed = true;
      return null;
    }
  }

  async loadDisplay(): Promise<void> {
    const url = this.#source.display;
    if (!url) return;
    const display = await this.#guard(() => getJson<WallDisplayDto>(url));
    if (display) this.#display = display;
  }

  loadTopology(): Promise<void> {
    // One load at a time; a change during a load is picked up by the next.
    this.#topologyLoading ??= (async () => {
      const topology = await this.#guard(async () => withPositions(await getJson<TopologyDto>(this.#source.topology)));
      if (topology) {
        this.#topology = topology;
        this.#utilisation = new Map();
      }
    })().finally(() => (this.#topologyLoading = null));
    return this.#topologyLoading;
  }

  /** Registers a heatmap's need and loads it. */
  async loadUptime(range: UptimeRange, client?: string): Promise<void> {
    const key = `${range}|${client ?? ''}`;
    this.#wanted.add(key);
    const timeZone = this.#timeZone;
    const query = new URLSearchParams({ range, ...(client ? { client } : {}), ...(timeZone ? { timeZone } : {}) });
    const data = await this.#guard(() => getJson<UptimeDto>(`${this.#source.uptime}?${query}`));
    // An answer for a zone no longer asked for would put the old days back.
    if (data && timeZone === this.#timeZone) this.#uptime = { ...this.#uptime, [key]: data };
  }

  /** The wall editor's preview: heatmap days in `zone` (null: the server's), reloaded at once when it changes. */
  async setTimeZone(zone: string | null): Promise<void> {
    if (zone === this.#timeZone) return;
    this.#timeZone = zone;
    await Promise.all([...this.#wanted].map((key) => {
      const [range, client] = key.split('|') as [UptimeRange, string];
      return this.loadUptime(range, client || undefined);
    }));
  }

  async reloadUptime(): Promise<void> {
    await jitter(5000);
    for (const key of this.#wanted) {
      const [range, client] = key.split('|') as [UptimeRange, string];
      await this.loadUptime(range, client || undefined);
    }
  }

  async reloadTopology(): Promise<void> {
    await jitter(1500);
    await this.loadTopology();
  }

  applyUtilisation(links: { id: string; utilisation: number | null }[]): void {
    const next = new Map(this.#utilisation);
    for (const l of links) next.set(l.id, l.utilisation);
    this.#utilisation = next;
  }

  async reloadAll(): Promise<void> {
    await Promise.all([this.loadDisplay(), this.loadTopology(), this.reloadUptime()]);
  }

  /** Lets /map show a position change at once. */
  setTopology(topology: TopologyDto): void {
    this.#topology = topology;
  }
}
