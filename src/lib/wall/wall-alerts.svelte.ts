import type { IncidentDto } from '$lib/protocol/incidents.ts';
import type { WallChime } from '$lib/protocol/walls.ts';
import { nodeKey } from './node-states.ts';
import { PULSE_MS, PULSES } from './map-renderer.ts';
import { audioAllowed, playChime } from './chime.ts';

const MUTE_KEY = 'watchfloor.wall.muted';
const FRESH_MS = 6000;

/**
 * What a new critical sets off on a wall: its nodes pulse on the map, its row lights up in the queue,
 * and (when the wall's chime is on and this screen has not muted it) a chime, repeated every N minutes
 * while any critical stays unacknowledged.
 */
export class WallAlerts {
  /** `client\0node` → pulse start (epoch ms). */
  #pulses = $state.raw<Map<string, number>>(new Map());
  #fresh = $state.raw<Set<string>>(new Set());
  #muted = $state(false);
  #blocked = $state(false);
  #lastChimeAt = 0;
  #chime: WallChime = { enabled: false, repeatMinutes: 5 };
  readonly #timer: ReturnType<typeof setInterval>;
  #unacknowledgedCritical: () => boolean = () => false;

  constructor() {
    try {
      this.#muted = localStorage.getItem(MUTE_KEY) === '1';
    } catch {
      this.#muted = false;
    }
    this.#timer = setInterval(() => this.#tick(), 15_000);
  }

  get pulses(): Map<string, number> {
    return this.#pulses;
  }
  get fresh(): Set<string> {
    return this.#fresh;
  }
  get chimeState(): 'on' | 'muted' | 'off' | 'blocked' {
    if (!this.#chime.enabled) return 'off';
    if (this.#muted) return 'muted';
    return this.#blocked ? 'blocked' : 'on';
  }

  /** The wall's chime setting, and how to tell whether a critical is still waiting for someone. */
  configure(chime: WallChime, unacknowledgedCritical: () => boolean): void {
    this.#chime = chime;
    this.#unacknowledgedCritical = unacknowledgedCritical;
    if (chime.enabled && !this.#muted) this.#blocked = !audioAllowed();
  }

  toggleMute(): void {
    this.#muted = !this.#muted;
    try {
      localStorage.setItem(MUTE_KEY, this.#muted ? '1' : '0');
    } catch {
      // a kiosk without storage keeps the choice until reload
    }
    // A click is a gesture: the browser now lets the chime play.
    if (!this.#muted && this.#chime.enabled) void playChime(0.001).then((ok) => (this.#blocked = !ok));
  }

  announce(incidents: IncidentDto[]): void {
    const now = Date.now();
    const pulses = new Map([...this.#pulses].filter(([, t]) => now - t < PULSE_MS * PULSES));
    for (const i of incidents) for (const n of i.nodes ?? []) if (i.client) pulses.set(nodeKey(i.client, n), now);
    this.#pulses = pulses;
    this.#fresh = new Set(incidents.map((i) => i.id));
    setTimeout(() => (this.#fresh = new Set()), FRESH_MS);
    if (incidents.length) void this.#ring();
  }

  async #ring(): Promise<void> {
    if (!this.#chime.enabled || this.#muted) return;
    this.#lastChimeAt = Date.now();
    this.#blocked = !(await playChime());
  }

  #tick(): void {
    const { enabled, repeatMinutes } = this.#chime;
    if (!enabled || this.#muted || repeatMinutes === 0) return;
    if (Date.now() - this.#lastChimeAt >= repeatMinutes * 60_000 && this.#unacknowledgedCritical()) void this.#ring();
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
