import type { FastifyBaseLogger } from 'fastify';
import { rooms, type Ack, type HandshakeAuth } from '../../src/lib/protocol/events.ts';
import {
  encodeCatchUp,
  encodeDelta,
  encodeSnapshot,
  FEED_ID_MAX,
  HEAD_ROWS_MAX,
  incidentToRow,
  type FeedAnswer,
  type FeedMode,
  type FeedResume,
  type HeadRequest,
  type IncidentCatchUp,
  type IncidentHeadFrame,
  type IncidentSnapshot,
} from '../../src/lib/protocol/incidents.ts';
import { parseFilter, type FilterViewer, type IncidentFilter } from '../../src/lib/domain/incident-filter.ts';
import { queueHead } from '../../src/lib/domain/queue-head.ts';
import { deltaOf, type FeedChange, type IncidentChange } from './coalesce.ts';
import { PublishedIncidents } from './published-incidents.ts';
import type { OpenIncidents } from './open-incidents.ts';
import { RECOVERY_WINDOW_MS, type RealtimeServer, type WatchfloorSocket } from './socket-server.ts';
import { catchUpOf, feedIdOf, refuseResume, RESUME_CHANGES_MAX, type ResumeRefusal } from './feed-resume.ts';
import type { Metrics } from '../metrics.ts';

type SubscribeReply = Parameters<Ack<FeedAnswer>>[0];

/** A filter in a URL is short; this bounds what a crafted one costs. */
const HEAD_FILTER_MAX = 2000;

function isHeadRequest(head: unknown): head is HeadRequest {
  if (typeof head !== 'object' || head === null) return false;
  const { filter, rows } = head as { filter?: unknown; rows?: unknown };
  return typeof filter === 'string' && filter.length <= HEAD_FILTER_MAX && Number.isInteger(rows) && (rows as number) >= 1 && (rows as number) <= HEAD_ROWS_MAX;
}

function isFeedResume(resume: unknown): resume is FeedResume {
  if (typeof resume !== 'object' || resume === null) return false;
  const { after, feedId } = resume as { after?: unknown; feedId?: unknown };
  return Number.isSafeInteger(after) && (after as number) >= 0 && typeof feedId === 'string' && feedId.length > 0 && feedId.length <= FEED_ID_MAX;
}

/** The top of the queue `request` describes, from the snapshot about to be sent. */
function headOf(snapshot: IncidentSnapshot, request: HeadRequest, filter: IncidentFilter, viewer: FilterViewer): IncidentHeadFrame {
  const head = queueHead(snapshot.incidents, filter, viewer, Date.now(), request.rows);
  return {
    lastChangeId: snapshot.lastChangeId,
    filter: request.filter,
    rows: head.first.map(incidentToRow),
    matching: head.matching,
    open: snapshot.incidents.length,
    counts: head.counts,
  };
}

interface RoomChain {
  mode: FeedMode;
  /** The clients this room covers; null = every client (incidents without a client included). */
  clients: ReadonlySet<string> | null;
  /** Last change id sent to this room: the next delta's `prev`. */
  lastSent: number;
  pending: FeedChange[];
  timer: ReturnType<typeof setTimeout> | null;
  /** When a socket was last seen in this room (epoch ms). */
  lastMemberAt: number;
}

/**
 * Snapshot, then ordered deltas (DESIGN principle 2). Each (scope, mode) is one room and one chain
 * of deltas; screens get them coalesced over `coalesceMs` (principle 3), consoles per commit.
 *
 * A subscription that holds incidents already may ask to resume from its change id: it then gets what changed
 * in its room since, read from the `changes` log (whichever process wrote it), instead of every open incident,
 * when that is safe and cheaper (see {@link refuseResume}). After a restart every screen reconnects at once;
 * each gets a few kilobytes instead of megabytes.
 */
export class IncidentFeed {
  readonly #realtime: RealtimeServer;
  readonly #open: OpenIncidents;
  readonly #viewerOf: (userId: string) => Promise<FilterViewer>;
  readonly #coalesceMs: number;
  readonly #log: FastifyBaseLogger;
  readonly #metrics: Metrics;
  readonly #chains = new Map<string, RoomChain>();
  readonly #published = new PublishedIncidents();

  constructor(options: {
    realtime: RealtimeServer;
    openIncidents: OpenIncidents;
    /** Who a person is to a filter (`assignee=me`, `team=mine`), for the head of their queue. */
    viewerOf: (userId: string) => Promise<FilterViewer>;
    coalesceMs: number;
    log: FastifyBaseLogger;
    metrics: Metrics;
  }) {
    this.#realtime = options.realtime;
    this.#open = options.openIncidents;
    this.#viewerOf = options.viewerOf;
    this.#coalesceMs = options.coalesceMs;
    this.#log = options.log;
    this.#metrics = options.metrics;
    this.#realtime.io.on('connection', (socket) => this.#attach(socket));
  }

  #attach(socket: WatchfloorSocket): void {
    socket.on('incidents:subscribe', async (request, ack) => {
      if (typeof ack !== 'function') return;
      ack(await this.#subscribe(socket, request));
    });
    // A subscription sent with the handshake starts at once: its snapshot is on its way while the app
    // is still drawing the page that will show it (the console's first render waits for nothing else).
    const fromHandshake: unknown = (socket.handshake.auth as HandshakeAuth | undefined)?.feed;
    if (fromHandshake !== undefined && !socket.recovered) {
      void this.#subscribe(socket, fromHandshake).then((reply) => {
        if (!reply.ok) socket.emit('incidents:refused', { code: reply.code, message: reply.message });
      });
    }
    // A socket that drops may come back through connection-state recovery into the same rooms and
    // expects what was broadcast meanwhile: remember when its rooms last had it.
    socket.on('disconnecting', () => {
      for (const room of socket.rooms) {
        const chain = this.#chains.get(room);
        if (chain) chain.lastMemberAt = Date.now();
      }
    });
  }

  async #subscribe(socket: WatchfloorSocket, request: unknown): Promise<SubscribeReply> {
    const { mode, scope, head, resume } = (typeof request === 'object' && request !== null ? request : {}) as { mode?: unknown; scope?: unknown; head?: unknown; resume?: unknown };
    // scope must be an object: a string or array scope used to subscribe to every client
    const scopeOk = typeof scope === 'object' && scope !== null && !Array.isArray(scope);
    const client = scopeOk ? ((scope as { client?: unknown }).client ?? null) : null;
    if (!scopeOk || (mode !== 'console' && mode !== 'screen') || (client !== null && (typeof client !== 'string' || client.length === 0 || client.length > 64))) {
      return { ok: false, code: 'validation_failed', message: 'subscribe needs { scope: { client? }, mode: "console" | "screen" }' };
    }
    if (head !== undefined && !isHeadRequest(head)) {
      return { ok: false, code: 'validation_failed', message: `head needs { filter: a query string of at most ${HEAD_FILTER_MAX} characters, rows: 1…${HEAD_ROWS_MAX} }` };
    }
    if (resume !== undefined && !isFeedResume(resume)) {
      return { ok: false, code: 'validation_failed', message: `resume needs { after: a change id, feedId: the feedId the server sent (at most ${FEED_ID_MAX} characters) }` };
    }
    // A socket restricted to some clients (a user's scope, a wall's) subscribes within them only; its room is
    // keyed by the set it covers, so it never receives another client's incidents.
    const allowed = socket.data.clients ?? null;
    if (client !== null && allowed !== null && !allowed.includes(client)) {
      return { ok: false, code: 'forbidden', message: `you may not see client ${client}` };
    }
    const clients = client !== null ? [client] : allowed;
    const room = rooms.feed(mode, clients);
    const feedId = feedIdOf(room);
    for (const joined of socket.rooms) if (joined.startsWith('feed:')) await socket.leave(joined);
    // Join first, snapshot (or catch-up) second: deltas that overtake it carry ids it already has, and the client
    // drops them; the first delta after it starts at or below its id (see #catchUp).
    await socket.join(room);
    this.#chain(room, mode, clients).lastMemberAt = Date.now();
    try {
      const catchUp = resume ? await this.#catchUp(resume, feedId, clients) : null;
      if (catchUp) {
        // No head: the incidents are on the client's screen already.
        socket.emit('incidents:resumed', encodeCatchUp(catchUp));
        this.#metrics.feedAnswers.inc({ answer: 'resume' });
        return { ok: true, data: { lastChangeId: catchUp.last, answer: 'resume' } };
      }
      const filter = head && socket.data.userId ? parseFilter(new URLSearchParams(head.filter)) : null;
      // Teams are read only for a filter that names "mine".
      const viewer = filter ? (filter.team === 'mine' ? await this.#viewerOf(socket.data.userId) : { id: socket.data.userId, teamIds: [] }) : null;
      const snapshot = await this.#open.snapshot(clients);
      // The head and the snapshot leave together: no delta can come between them.
      if (head && filter && viewer) socket.emit('incidents:head', headOf(snapshot, head, filter, viewer));
      socket.emit('incidents:snapshot', encodeSnapshot({ ...snapshot, feedId }));
      this.#metrics.feedAnswers.inc({ answer: 'snapshot' });
      return { ok: true, data: { lastChangeId: snapshot.lastChangeId, answer: 'snapshot' } };
    } catch (error) {
      this.#log.error({ err: error }, 'reading the incidents for a subscription (snapshot or catch-up) failed');
      return { ok: false, code: 'internal', message: 'could not read the incidents' };
    }
  }

  /**
   * What changed in the room since `resume.after`, read from the change log after the socket joined the room,
   * or null when a snapshot must answer instead (counted by why).
   *
   * Why no change falls between the catch-up and the room's next delta, the socket having joined first: every
   * delta this process emitted to the room before the read was committed before it, so the read covers it, and
   * the room's `prev` (the `last` of the delta before) is at or below the catch-up's `last`. Deltas emitted
   * during the read reach the socket before the catch-up; the client holds them back and applies them after it:
   * those it covers are dropped (`last` at or below), one reaching past it starts at or below it and holds
   * the latest state of every incident it carries. Changes other processes committed that this process has not
   * published yet are in the read (the database, not this process's memory, is read): when the follower
   * publishes them later, their delta ends at or below the catch-up's `last` and is dropped, or reaches past it
   * from a `prev` at or below it.
   */
  async #catchUp(resume: FeedResume, feedId: string, clients: readonly string[] | null): Promise<IncidentCatchUp | null> {
    const refused = (reason: ResumeRefusal) => {
      this.#metrics.feedResumesRefused.inc({ reason });
      return null;
    };
    const otherFeed = refuseResume(resume, feedId, null);
    if (otherFeed) return refused(otherFeed);
    const log = await this.#open.changeLogAfter(resume.after, RESUME_CHANGES_MAX + 1);
    const refusal = refuseResume(resume, feedId, log);
    return refusal ? refused(refusal) : catchUpOf(resume.after, feedId, log, clients);
  }

  #chain(room: string, mode: FeedMode, clients: readonly string[] | null): RoomChain {
    let chain = this.#chains.get(room);
    if (!chain) {
      chain = { mode, clients: clients === null ? null : new Set(clients), lastSent: 0, pending: [], timer: null, lastMemberAt: 0 };
      this.#chains.set(room, chain);
    }
    return chain;
  }

  /** Called after commit with the changes in change-id order. */
  publish(changes: IncidentChange[]): void {
    if (changes.length === 0) return;
    this.#realtime.lastChangeId = Math.max(this.#realtime.lastChangeId, changes[changes.length - 1].changeId);
    const pending = changes.map((change): FeedChange => ({ ...change, before: this.#published.next(change.incident) }));
    // Rooms exist from their first subscription on; each gets the changes of the clients it covers.
    for (const [room, chain] of this.#chains) {
      const covered = chain.clients;
      const list = covered === null ? pending : pending.filter((c) => c.incident.client !== null && covered.has(c.incident.client));
      if (list.length > 0) this.#enqueue(room, chain, list);
    }
  }

  #enqueue(room: string, chain: RoomChain, changes: FeedChange[]): void {
    if (this.#realtime.io.of('/').adapter.rooms.has(room)) chain.lastMemberAt = Date.now();
    else if (Date.now() - chain.lastMemberAt > RECOVERY_WINDOW_MS) {
      // Nobody listens, nor can come back to it: skip the work, but keep the chain's position so a later
      // delta's prev stays honest. (Skipping while a socket could still recover lost it the broadcasts it
      // missed: a wall that blipped kept showing a resolved incident until its scope changed again.)
      if (chain.timer) clearTimeout(chain.timer);
      chain.timer = null;
      chain.pending = [];
      chain.lastSent = changes[changes.length - 1].changeId;
      return;
    }
    chain.pending.push(...changes);
    if (chain.mode === 'console') this.#flush(room, chain);
    else chain.timer ??= setTimeout(() => this.#flush(room, chain), this.#coalesceMs);
  }

  #flush(room: string, chain: RoomChain): void {
    if (chain.timer) clearTimeout(chain.timer);
    chain.timer = null;
    if (chain.pending.length === 0) return;
    const delta = deltaOf(chain.lastSent, chain.pending);
    chain.pending = [];
    chain.lastSent = delta.last;
    this.#realtime.io.to(room).emit('incidents:changed', encodeDelta(delta));
  }

  close(): void {
    for (const chain of this.#chains.values()) if (chain.timer) clearTimeout(chain.timer);
  }
}
