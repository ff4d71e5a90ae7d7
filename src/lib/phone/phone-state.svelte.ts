import { createContext, untrack } from 'svelte';
import { api } from '$lib/api/client.ts';
import { IncidentsState } from '$lib/state/incidents.svelte.ts';
import type { Connection } from '$lib/realtime/connection.svelte.ts';
import type { IncidentDto } from '$lib/protocol/incidents.ts';
import type { TeamDto } from '$lib/protocol/console.ts';
import type { ErrorCode } from '$lib/protocol/errors.ts';
import type { FeedRefusal } from '$lib/protocol/events.ts';
import { loadSnapshot, saveSnapshot, type StoredSnapshot } from './offline-snapshot.ts';

/** How often the last known state is written down while live, so an offline start shows a fresh age. */
const SAVE_EVERY_MS = 15_000;

export type PhoneCommand = 'incident:acknowledge' | 'incident:resolve' | 'incident:take-over';

/** Outcome of a command for the person: done, or why not. */
export type CommandResult = { ok: true; incident: IncidentDto } | { ok: false; code: ErrorCode | 'offline'; message: string };

/**
 * What the phone shows: the open incidents of my scope, live from the socket when connected, else
 * the last known ones (kept in IndexedDB) marked stale with their age. The socket reconnects by
 * itself; as soon as it is live again the list is current again. A start with a stored copy resumes
 * from it: the server sends what changed while the phone was closed, not every open incident again.
 */
export class PhoneState {
  readonly userId: string;
  #live = $state.raw<IncidentsState | null>(null);
  #connection = $state.raw<Connection | null>(null);
  #stored = $state.raw<StoredSnapshot | null>(null);
  #storedLoaded = $state(false);
  #teamIds = $state.raw<Set<string>>(new Set());
  #now = $state(Date.now());
  #ticker: ReturnType<typeof setInterval>;
  #saver: ReturnType<typeof setInterval> | null = null;
  #offApplied: (() => void) | null = null;
  #saveQueued = false;
  #closed = false;

  constructor(userId: string) {
    this.userId = userId;
    this.#ticker = setInterval(() => (this.#now = Date.now()), 1000);
    const loaded = (stored: StoredSnapshot | null) => {
      this.#stored = stored;
      this.#storedLoaded = true;
      this.#goLive();
    };
    loadSnapshot(userId).then(loaded, () => loaded(null));
  }

  /** Follows the app's connection (null while there is none). */
  attach(connection: Connection | null): void {
    if (connection === this.#connection) return;
    this.#detach();
    this.#connection = connection;
    // Called from an effect: what going live reads is not for that effect to follow.
    untrack(() => this.#goLive());
  }

  /**
   * Subscribes once there is a connection and the stored copy has been read (or found missing): the subscription
   * resumes from the copy. The read takes a moment beside the connection's; what the server sends meanwhile waits.
   */
  #goLive(): void {
    const connection = this.#connection;
    if (this.#closed || !connection || !this.#storedLoaded || this.#live) return;
    // Coalesced like a screen: a phone on a mobile network needs the latest state, not every commit.
    // The copy was stored for this user (loadSnapshot reads by user id), so no one else resumes from it.
    const live = new IncidentsState(connection, { mode: 'screen', resumeFrom: this.#stored });
    this.#live = live;
    this.#offApplied = live.onApplied(() => this.#queueSave());
    this.#saver = setInterval(() => {
      if (this.isLive) void this.#save();
    }, SAVE_EVERY_MS);
    void this.loadTeams();
  }

  #detach(): void {
    this.#offApplied?.();
    this.#offApplied = null;
    if (this.#saver) clearInterval(this.#saver);
    this.#saver = null;
    this.#live?.close();
    this.#live = null;
  }

  /** True when what is shown is current: a snapshot arrived and the socket is live. */
  get isLive(): boolean {
    return this.#live?.ready === true && this.#connection?.status === 'live';
  }

  /** Why the server refused the live incidents, while none came yet (what is shown is the stored list, or nothing). */
  get refusal(): FeedRefusal | null {
    return this.#live?.refusal ?? null;
  }

  /** Why the server refused the live incidents after they were shown: they stay, marked as not updating. */
  get notUpdating(): FeedRefusal | null {
    return this.#live?.notUpdating ?? null;
  }

  /** False until we know whether anything was stored (avoids flashing "nothing known"). */
  get loaded(): boolean {
    return this.#live?.ready === true || this.#storedLoaded;
  }

  /** Open incidents shown, highest priority first. */
  get incidents(): IncidentDto[] {
    if (this.#live?.ready) return this.#live.incidents;
    return this.#stored?.incidents ?? [];
  }

  /**
   * When what is shown was last known to be current (epoch ms); null while live, and while live incidents
   * are kept after a refusal (which the phone tells instead: when they stopped updating is not known).
   */
  get staleSince(): number | null {
    if (this.isLive || this.notUpdating) return null;
    if (this.#live?.ready) return this.#connection?.lastMessageAt ?? this.#now;
    return this.#stored ? Date.parse(this.#stored.currentAt) : null;
  }

  /** Seconds since {@link staleSince}, ticking. */
  get staleSeconds(): number | null {
    const since = this.staleSince;
    return since === null ? null : Math.max(0, Math.round((this.#now - since) / 1000));
  }

  get connectionStatus(): string {
    return this.#connection?.status ?? 'connecting';
  }

  get(id: string): IncidentDto | undefined {
    return this.incidents.find((i) => i.id === id);
  }

  /** Assigned to me. */
  get mine(): IncidentDto[] {
    return this.incidents.filter((i) => i.assigneeId === this.userId);
  }

  /** Held by one of my teams, not by me. */
  get team(): IncidentDto[] {
    return this.incidents.filter((i) => i.assigneeId !== this.userId && i.teamId !== null && this.#teamIds.has(i.teamId));
  }

  /** Triggered, held by nobody: what a page is about. */
  get waiting(): IncidentDto[] {
    return this.incidents.filter((i) => i.status === 'triggered' && i.assigneeId === null && (i.teamId === null || !this.#teamIds.has(i.teamId)));
  }

  /** Everything else open in my clients, for completeness. */
  get others(): IncidentDto[] {
    const shown = new Set([...this.mine, ...this.team, ...this.waiting].map((i) => i.id));
    return this.incidents.filter((i) => !shown.has(i.id));
  }

  async loadTeams(): Promise<void> {
    try {
      const teams = await api<TeamDto[] | { teams: TeamDto[] }>('GET', '/teams');
      const list = Array.isArray(teams) ? teams : teams.teams;
      this.#teamIds = new Set(list.filter((t) => t.members.some((m) => m.id === this.userId)).map((t) => t.id));
    } catch {
      // No teams (or not allowed to list them): the team section stays empty.
    }
  }

  /** Runs an incident command over the socket; its answer (or refusal) comes back for the person. */
  command(name: PhoneCommand, incident: IncidentDto): Promise<CommandResult> {
    const socket = this.#connection?.socket;
    if (!socket?.connected) return Promise.resolve({ ok: false, code: 'offline', message: 'no connection: try again when back online' });
    return new Promise((resolve) => {
      socket.timeout(15_000).emit(name, { id: incident.id, version: incident.version }, (error: Error | null, reply) => {
        if (error) resolve({ ok: false, code: 'offline', message: 'the server did not answer in time' });
        else if (reply.ok) resolve({ ok: true, incident: reply.data });
        else resolve({ ok: false, code: reply.code, message: reply.message });
      });
    });
  }

  #queueSave(): void {
    if (this.#saveQueued) return;
    this.#saveQueued = true;
    setTimeout(() => {
      this.#saveQueued = false;
      void this.#save();
    }, 1000);
  }

  async #save(): Promise<void> {
    // Only a copy that is whole as of its change id, which a later start may resume from (see IncidentsState.copy).
    const copy = this.#live?.copy();
    if (!copy) return;
    const snapshot: StoredSnapshot = {
      userId: this.userId,
      currentAt: new Date(this.#connection?.lastMessageAt ?? Date.now()).toISOString(),
      ...copy,
    };
    try {
      await saveSnapshot(snapshot);
      this.#stored = snapshot;
    } catch {
      // Private mode or a full disk: the phone works, only the offline start has less to show.
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#ticker);
    this.#detach();
  }
}

const [getPhone, setPhone] = createContext<PhoneState>();
export { getPhone as getPhoneContext, setPhone as setPhoneContext };
