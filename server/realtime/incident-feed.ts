import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import { openIncidentSnapshot } from '../db/incident-store.ts';
import { rooms } from '../../src/lib/protocol/events.ts';
import type { FeedMode, IncidentDelta } from '../../src/lib/protocol/incidents.ts';
import { coalesceChanges, type IncidentChange } from './coalesce.ts';
import { RECOVERY_WINDOW_MS, type RealtimeServer, type WatchfloorSocket } from './socket-server.ts';

const MODES: FeedMode[] = ['console', 'screen'];

interface RoomChain {
  /** Last change id sent to this room: the next delta's `prev`. */
  lastSent: number;
  pending: IncidentChange[];
  timer: ReturnType<typeof setTimeout> | null;
  /** When a socket was last seen in this room (epoch ms). */
  lastMemberAt: number;
}

/**
 * Snapshot, then ordered deltas (DESIGN principle 2). Each (scope, mode) is one room and one chain
 * of deltas; screens get them coalesced over `coalesceMs` (principle 3), consoles per commit.
 */
export class IncidentFeed {
  readonly #realtime: RealtimeServer;
  readonly #database: Database;
  readonly #coalesceMs: number;
  readonly #log: FastifyBaseLogger;
  readonly #chains = new Map<string, RoomChain>();

  constructor(options: { realtime: RealtimeServer; database: Database; coalesceMs: number; log: FastifyBaseLogger }) {
    this.#realtime = options.realtime;
    this.#database = options.database;
    this.#coalesceMs = options.coalesceMs;
    this.#log = options.log;
    this.#realtime.io.on('connection', (socket) => this.#attach(socket));
  }

  #attach(socket: WatchfloorSocket): void {
    socket.on('incidents:subscribe', async (request, ack) => {
      if (typeof ack !== 'function') return;
      const mode = request?.mode;
      const scope: unknown = request?.scope;
      // scope must be an object: a string or array scope used to subscribe to every client
      const scopeOk = typeof scope === 'object' && scope !== null && !Array.isArray(scope);
      const client = scopeOk ? ((scope as { client?: unknown }).client ?? null) : null;
      if (!scopeOk || (mode !== 'console' && mode !== 'screen') || (client !== null && (typeof client !== 'string' || client.length === 0 || client.length > 64))) {
        return ack({ ok: false, code: 'validation_failed', message: 'subscribe needs { scope: { client? }, mode: "console" | "screen" }' });
      }
      // TODO(#4): users restricted to some clients may only subscribe within them.
      for (const room of socket.rooms) if (room.startsWith('feed:')) await socket.leave(room);
      // Join first, snapshot second: deltas that overtake the snapshot carry ids it already has, and the client drops them.
      await socket.join(rooms.feed(mode, client));
      this.#chain(rooms.feed(mode, client)).lastMemberAt = Date.now();
      try {
        const snapshot = await openIncidentSnapshot(this.#database, client);
        socket.emit('incidents:snapshot', snapshot);
        ack({ ok: true, data: { lastChangeId: snapshot.lastChangeId } });
      } catch (error) {
        this.#log.error({ err: error }, 'snapshot failed');
        ack({ ok: false, code: 'internal', message: 'could not read the incidents' });
      }
    });
    // A socket that drops may come back through connection-state recovery into the same rooms and
    // expects what was broadcast meanwhile: remember when its rooms last had it.
    socket.on('disconnecting', () => {
      for (const room of socket.rooms) if (room.startsWith('feed:')) this.#chain(room).lastMemberAt = Date.now();
    });
  }

  #chain(room: string): RoomChain {
    let chain = this.#chains.get(room);
    if (!chain) {
      chain = { lastSent: 0, pending: [], timer: null, lastMemberAt: 0 };
      this.#chains.set(room, chain);
    }
    return chain;
  }

  /** Called after commit with the changes in change-id order. */
  publish(changes: IncidentChange[]): void {
    if (changes.length === 0) return;
    this.#realtime.lastChangeId = Math.max(this.#realtime.lastChangeId, changes[changes.length - 1].changeId);
    const byClient = new Map<string | null, IncidentChange[]>([[null, changes]]);
    for (const change of changes) {
      const client = change.incident.client;
      if (client === null) continue;
      const list = byClient.get(client) ?? [];
      list.push(change);
      byClient.set(client, list);
    }
    for (const mode of MODES) {
      for (const [client, list] of byClient) this.#enqueue(rooms.feed(mode, client), mode, list);
    }
  }

  #enqueue(room: string, mode: FeedMode, changes: IncidentChange[]): void {
    const chain = this.#chain(room);
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
    if (mode === 'console') this.#flush(room, chain);
    else chain.timer ??= setTimeout(() => this.#flush(room, chain), this.#coalesceMs);
  }

  #flush(room: string, chain: RoomChain): void {
    if (chain.timer) clearTimeout(chain.timer);
    chain.timer = null;
    if (chain.pending.length === 0) return;
    const changes = coalesceChanges(chain.pending);
    const last = chain.pending[chain.pending.length - 1].changeId;
    chain.pending = [];
    const delta: IncidentDelta = { prev: chain.lastSent, last, incidents: changes.map((c) => c.incident) };
    chain.lastSent = last;
    this.#realtime.io.to(room).emit('incidents:changed', delta);
  }

  close(): void {
    for (const chain of this.#chains.values()) if (chain.timer) clearTimeout(chain.timer);
  }
}
