import { compareIncidents } from '$lib/domain/priority.ts';
import {
  decodeCatchUp,
  decodeDelta,
  decodeHead,
  decodeSnapshot,
  type FeedMode,
  type FeedRequest,
  type FeedScope,
  type IncidentCatchUp,
  type IncidentCatchUpFrame,
  type IncidentDelta,
  type IncidentDeltaFrame,
  type IncidentDto,
  type IncidentHead,
  type IncidentHeadFrame,
  type IncidentSnapshot,
  type IncidentSnapshotFrame,
} from '$lib/protocol/incidents.ts';
import { applyDelta, applyResume, applySnapshot, awaitAnswer, emptySync, resumePoint, type SyncResult, type SyncState } from '$lib/realtime/incident-sync.ts';
import { copyOfSync, syncFromCopy, type IncidentsCopy } from '$lib/realtime/incidents-copy.ts';
import type { Connection } from '$lib/realtime/connection.svelte.ts';
import type { FeedRefusal } from '$lib/protocol/events.ts';
import { applySorted, type SortedChange } from '$lib/console/sorted-list.ts';
import { mergeContiguousDeltas } from '$lib/console/delta-batch.ts';

/** After the server could not read the incidents (`internal`), how long until the subscription is asked for again. */
const RETRY_REFUSED_MS = 3000;

/** Runs `work` once the browser has painted what is on screen now (or soon, in a tab that does not paint). */
function afterNextPaint(work: () => void): void {
  if (typeof requestAnimationFrame === 'function' && typeof document !== 'undefined' && !document.hidden) {
    requestAnimationFrame(() => setTimeout(work, 0));
  } else setTimeout(work, 0);
}

/** Queue order: the documented priority of `$lib/domain/priority.ts`. */
export function byPriority(a: IncidentDto, b: IncidentDto): number {
  return compareIncidents(a, b);
}

/** What one applied batch changed, for listeners (highlight, chime). */
export interface IncidentsApplied {
  /**
   * True when the whole set was replaced by a snapshot, or brought up to date by a catch-up after a reconnect
   * (which is treated exactly as a snapshot): nothing in it is "new" to a person.
   */
  snapshot: boolean;
  /** Incidents that joined the set. */
  added: IncidentDto[];
  /** Incidents whose state changed: the old object and the new one. */
  updated: { before: IncidentDto; after: IncidentDto }[];
  /** Incidents that left the set (resolved, merged, or out of scope). */
  removed: IncidentDto[];
}

/**
 * The open incidents of one subscription, kept current from a snapshot and ordered deltas.
 * Resubscribes on a gap or on a reconnect the server could not recover, asking to resume from the change id
 * it holds: the server answers with what changed since (`incidents:resumed`) when it can, else a snapshot.
 * Either way the incidents stay on screen until the answer replaces them.
 *
 * Deltas are applied once per animation frame (all that arrived since, joined), and the sorted
 * list is patched in place of being sorted again: with 10,000 open incidents and 100 changes a
 * second that is the difference between a smooth queue and a stuttering one.
 */
export class IncidentsState {
  #sync: SyncState = emptySync();
  #list = $state.raw<IncidentDto[]>([]);
  #ready = $state(false);
  #head = $state.raw<IncidentHead | null>(null);
  /** Bumped by every subscription: a snapshot held back for a paint is dropped if another subscription came since. */
  #generation = 0;
  #refusal = $state<FeedRefusal | null>(null);
  #retry: ReturnType<typeof setTimeout> | null = null;
  /** This state took over the subscription the handshake made: a late `incidents:refused` is about it. */
  #fromHandshake = false;
  #resyncs = $state(0);
  #answer = $state<'snapshot' | 'resume' | null>(null);
  /** Ids of incidents changed in the last applied batch, for a brief highlight. */
  #recent = $state.raw<Set<string>>(new Set());
  #pending: IncidentDelta[] = [];
  #flushScheduled = false;
  #listeners = new Set<(applied: IncidentsApplied) => void>();
  #closed = false;
  readonly #connection: Connection;
  readonly #scope: FeedScope;
  readonly #mode: FeedMode;
  readonly #off: () => void;
  readonly #uncount: () => void;
  readonly #unride: () => void;

  /**
   * `resumeFrom`: the incidents of this subscription kept from an earlier page life (the phone's stored copy): the
   * first subscription asks to resume from them, and until its answer comes they are not shown from here (the
   * owner shows its copy, marked stale). A copy without a `feedId` is not resumed: a snapshot, as without one.
   */
  constructor(connection: Connection, options: { scope?: FeedScope; mode?: FeedMode; resumeFrom?: IncidentsCopy | null } = {}) {
    this.#connection = connection;
    this.#scope = options.scope ?? {};
    this.#mode = options.mode ?? 'console';
    if (options.resumeFrom) this.#sync = syncFromCopy(options.resumeFrom);
    const socket = connection.socket;
    const onConnect = () => {
      // A recovered connection missed nothing: its rooms and missed packets came back with it.
      if (!socket.recovered) this.#subscribe();
    };
    const onHead = (frame: IncidentHeadFrame) => {
      // Only the handshake's subscription asks for a head; it is for drawing until the snapshot is in.
      if (this.#fromHandshake && !this.#ready) this.#head = decodeHead(frame);
    };
    const onSnapshot = (frame: IncidentSnapshotFrame) => this.#receiveSnapshot(frame);
    const onResumed = (catchUp: IncidentCatchUpFrame) => this.#receiveResume(decodeCatchUp(catchUp));
    const onChanged = (delta: IncidentDeltaFrame) => {
      this.#pending.push(decodeDelta(delta));
      this.#scheduleFlush();
    };
    // The handshake's subscription, taken over before its answer came, was refused.
    const onRefused = (refusal: FeedRefusal) => {
      if (this.#fromHandshake) this.#refused(refusal);
    };
    socket.on('connect', onConnect);
    socket.on('incidents:head', onHead);
    socket.on('incidents:snapshot', onSnapshot);
    socket.on('incidents:resumed', onResumed);
    socket.on('incidents:changed', onChanged);
    socket.on('incidents:refused', onRefused);
    // A refused subscription makes the connection say so instead of "Live", wherever it is shown.
    this.#uncount = connection.countFeed(() => this.#refusal !== null);
    // A reconnect's handshake carries this subscription, resume point included: its answer starts with the connection.
    this.#unride = connection.rideOnHandshake(() => this.#request());
    if (socket.connected) this.#subscribe();
    this.#off = () => {
      socket.off('connect', onConnect);
      socket.off('incidents:head', onHead);
      socket.off('incidents:snapshot', onSnapshot);
      socket.off('incidents:resumed', onResumed);
      socket.off('incidents:changed', onChanged);
      socket.off('incidents:refused', onRefused);
    };
  }

  /** Open incidents (snoozed ones included), highest priority first. */
  get incidents(): IncidentDto[] {
    return this.#list;
  }
  get ready(): boolean {
    return this.#ready;
  }
  /** The top of the queue the server sent ahead of the snapshot (when the subscription asked for it), until the snapshot is in. */
  get head(): IncidentHead | null {
    return this.#head;
  }
  /**
   * Why the server refused the subscription, while no snapshot has come: what every screen shows instead of
   * an empty list (an `internal` refusal is asked again by itself).
   */
  get refusal(): FeedRefusal | null {
    return this.#ready ? null : this.#refusal;
  }
  /**
   * Why the server refused the subscription after incidents were shown (a re-subscription after a gap or a
   * reconnect), until a snapshot comes again: the incidents stay, and every screen marks them as not updating.
   */
  get notUpdating(): FeedRefusal | null {
    return this.#ready ? this.#refusal : null;
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
  /** What the last answer to a subscription was (null until one came): shown in diagnostics, used by tests. */
  get answer(): 'snapshot' | 'resume' | null {
    return this.#answer;
  }
  /** The incident with this id, if it is open and in scope. */
  get(id: string): IncidentDto | undefined {
    return this.#sync.incidents.get(id);
  }

  /**
   * The incidents as a copy to keep for a later start (`resumeFrom`), while they are current; null while an
   * answer is awaited (see {@link copyOfSync}). In queue order: an offline start shows the copy as it was kept.
   */
  copy(): IncidentsCopy | null {
    const copy = copyOfSync(this.#sync);
    // While the state is current the list holds exactly its incidents, sorted (#apply sets both together).
    return copy && { ...copy, incidents: this.#list };
  }

  /** Calls `listener` after every applied snapshot or batch of deltas; returns the unsubscribe. */
  onApplied(listener: (applied: IncidentsApplied) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The subscription as it would be sent now: with the point to resume from, when the incidents held allow one. */
  #request(): FeedRequest {
    const resume = resumePoint(this.#sync);
    return resume ? { scope: this.#scope, mode: this.#mode, resume } : { scope: this.#scope, mode: this.#mode };
  }

  #subscribe(): void {
    // Held back until the answer: deltas that came before it are applied after it. The incidents stay for a resume.
    this.#sync = awaitAnswer(this.#sync);
    this.#pending = [];
    this.#generation++;
    // The handshake may have subscribed already: then what came of it so far is applied as if it arrived now.
    const early = this.#connection.subscribe(this.#request(), (refusal) => this.#refused(refusal));
    this.#fromHandshake = early !== null;
    if (!early) return;
    this.#head = early.head;
    this.#pending.push(...early.deltas);
    if (early.snapshot) this.#receiveSnapshot(early.snapshot);
    else if (early.resumed) this.#receiveResume(early.resumed);
    else if (early.deltas.length > 0) this.#scheduleFlush();
  }

  #receiveSnapshot(frame: IncidentSnapshotFrame): void {
    // Marks for the console benchmark (and anyone profiling): subscribe → snapshot → applied.
    performance.mark('wf:snapshot-received');
    if (this.#head && !this.#ready) {
      // The head is on screen or about to be: let it be painted before 10,000 incidents are decoded and sorted.
      const generation = this.#generation;
      afterNextPaint(() => {
        if (!this.#closed && generation === this.#generation) this.#applySnapshot(decodeSnapshot(frame));
      });
      return;
    }
    this.#applySnapshot(decodeSnapshot(frame));
  }

  #applySnapshot(snapshot: IncidentSnapshot): void {
    this.#refusal = null;
    this.#answer = 'snapshot';
    // Deltas queued before the snapshot are applied on top of it (or dropped as already in it).
    const early = this.#takePending();
    let result = applySnapshot(this.#sync, snapshot);
    for (const delta of early) if (!result.resync) result = applyDelta(result.state, delta);
    this.#apply(result, null);
    performance.mark('wf:snapshot-applied');
  }

  /** The answer to a resume: what changed since the id held, applied as a snapshot would be (list rebuilt, nothing "new"). */
  #receiveResume(catchUp: IncidentCatchUp): void {
    performance.mark('wf:resumed');
    this.#refusal = null;
    this.#answer = 'resume';
    const early = this.#takePending();
    let result = applyResume(this.#sync, catchUp);
    for (const delta of early) if (!result.resync) result = applyDelta(result.state, delta);
    this.#apply(result, null);
  }

  #refused(refusal: FeedRefusal): void {
    this.#refusal = refusal;
    if (refusal.code !== 'internal' || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      // Disconnected meanwhile: the reconnect subscribes again by itself.
      if (!this.#closed && this.#connection.socket.connected) this.#subscribe();
    }, RETRY_REFUSED_MS);
  }

  #takePending(): IncidentDelta[] {
    const pending = mergeContiguousDeltas(this.#pending);
    this.#pending = [];
    return pending;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    const flush = () => {
      this.#flushScheduled = false;
      if (!this.#closed) this.#flush();
    };
    // A hidden tab gets no animation frames; it still keeps up, just less often.
    if (typeof requestAnimationFrame === 'function' && typeof document !== 'undefined' && !document.hidden) {
      requestAnimationFrame(flush);
    } else setTimeout(flush, 250);
  }

  #flush(): void {
    for (const delta of this.#takePending()) {
      const result = applyDelta(this.#sync, delta);
      this.#apply(result, delta);
      if (result.resync) return; // resubscribed after a gap: the rest comes with the snapshot
    }
  }

  /** `delta` null: a snapshot replaced everything. */
  #apply(result: SyncResult, delta: IncidentDelta | null): void {
    if (result.resync) {
      this.#resyncs++;
      this.#subscribe();
      return;
    }
    const before = this.#sync;
    this.#sync = result.state;
    if (!result.state.ready) return;
    const wasReady = this.#ready;
    this.#ready = true;
    this.#head = null;
    if (delta === null || !wasReady || !before.ready) {
      this.#list = [...result.state.incidents.values()].sort(byPriority);
      this.#notify({ snapshot: true, added: [], updated: [], removed: [] });
      return;
    }
    const applied: IncidentsApplied = { snapshot: false, added: [], updated: [], removed: [] };
    const changes: SortedChange<IncidentDto>[] = [];
    const seen = new Set<string>();
    for (const { id } of delta.incidents) {
      if (seen.has(id)) continue;
      seen.add(id);
      const old = before.incidents.get(id);
      const now = result.state.incidents.get(id);
      if (old === now) continue;
      changes.push({ before: old, after: now });
      if (old && now) applied.updated.push({ before: old, after: now });
      else if (now) applied.added.push(now);
      else if (old) applied.removed.push(old);
    }
    if (changes.length === 0) return;
    this.#list = applySorted(this.#list, changes, byPriority);
    this.#recent = new Set([...applied.added, ...applied.updated.map((u) => u.after)].map((i) => i.id));
    this.#notify(applied);
  }

  #notify(applied: IncidentsApplied): void {
    for (const listener of this.#listeners) listener(applied);
  }

  close(): void {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#off();
    this.#uncount();
    this.#unride();
    this.#listeners.clear();
  }
}
