import { severityRank } from '$lib/domain/severity.ts';
import type { FeedMode, FeedScope, IncidentDto } from '$lib/protocol/incidents.ts';
import { applyDelta, applySnapshot, emptySync, type SyncResult, type SyncState } from '$lib/realtime/incident-sync.ts';
import type { Connection } from '$lib/realtime/connection.svelte.ts';

/** Queue order until the console's documented priority arrives: severity, then oldest first. */
export function byPriority(a: IncidentDto, b: IncidentDto): number {
  return severityRank(b.severity) - severityRank(a.severity) || a.createdAt.localeCompare(b.createdAt);
}

/**
 * The open incidents of one subscription, kept current from a snapshot and ordered deltas.
 * Resubscribes (fresh snapshot) on a gap or on a reconnect the server could not recover.
 */
export class IncidentsState {
  #sync: SyncState = emptySync();
  #list = $state.raw<IncidentDto[]>([]);
  #ready = $state(false);
  #resyncs = $state(0);
  /** Ids of incidents changed in the last delta, for a brief highlight. */
  #recent = $state.raw<Set<string>>(new Set());
  readonly #connection: Connection;
  readonly #scope: FeedScope;
  readonly #mode: FeedMode;
  readonly #off: () => void;

  constructor(connection: Connection, options: { scope?: FeedScope; mode?: FeedMode } = {}) {
    this.#connection = connection;
    this.#scope = options.scope ?? {};
    this.#mode = options.mode ?? 'console';
    const socket = connection.socket;
    const onConnect = () => {
      // A recovered connection missed nothing: its rooms and missed packets came back with it.
      if (!socket.recovered) this.#subscribe();
    };
    const onSnapshot = (snapshot: Parameters<typeof applySnapshot>[1]) => this.#apply(applySnapshot(this.#sync, snapshot), []);
    const onChanged = (delta: Parameters<typeof applyDelta>[1]) =>
      this.#apply(
        applyDelta(this.#sync, delta),
        delta.incidents.map((i) => i.id),
      );
    socket.on('connect', onConnect);
    socket.on('incidents:snapshot', onSnapshot);
    socket.on('incidents:changed', onChanged);
    if (socket.connected) this.#subscribe();
    this.#off = () => {
      socket.off('connect', onConnect);
      socket.off('incidents:snapshot', onSnapshot);
      socket.off('incidents:changed', onChanged);
    };
  }

  /** Open incidents, highest priority first. */
  get incidents(): IncidentDto[] {
    return this.#list;
  }
  get ready(): boolean {
    return this.#ready;
  }
  /** How many times a gap forced a fresh snapshot (shown in diagnostics, used by tests). */
  get resyncs(): number {
    return this.#resyncs;
  }
  get recentlyChanged(): Set<string> {
    return this.#recent;
  }
  get lastChangeId(): number {
    return this.#sync.lastChangeId;
  }

  #subscribe(): void {
    this.#sync = emptySync();
    this.#connection.socket.emit('incidents:subscribe', { scope: this.#scope, mode: this.#mode }, () => {});
  }

  #apply(result: SyncResult, changed: string[]): void {
    if (result.resync) {
      this.#resyncs++;
      this.#subscribe();
      return;
    }
    this.#sync = result.state;
    if (!result.state.ready) return;
    this.#ready = true;
    this.#list = [...result.state.incidents.values()].sort(byPriority);
    if (changed.length) this.#recent = new Set(changed);
  }

  close(): void {
    this.#off();
  }
}
