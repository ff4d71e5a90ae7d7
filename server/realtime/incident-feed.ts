import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import { openIncidentSnapshot } from '../db/incident-store.ts';
import { rooms } from '../../src/lib/protocol/events.ts';
import type { FeedMode, IncidentDelta } from '../../src/lib/protocol/incidents.ts';
import { coalesceChanges, type IncidentChange } from './coalesce.ts';
import type { RealtimeServer, WatchfloorSocket } from './socket-server.ts';

const MODES: FeedMode[] = ['console', 'screen'];

interface RoomChain {
  /** Last change id sent to this room: the next delta's `prev`. */
  lastSent: number;
  pending: IncidentChange[];
  timer: ReturnType<typeof setTimeout> | null;
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
      const client = request?.scope?.client ?? null;
      if ((mode !== 'console' && mode !== 'screen') || (client !== null && (typeof client !== 'string' || client.length > 64))) {
        return ack({ ok: false, code: 'validation_failed', message: 'subscribe needs { scope: { client? }, mode: "console" | "screen" }' });
      }
      // TODO(#4): users restricted to some clients may only subscribe within them.
      for (const room of socket.rooms) if (room.startsWith('feed:')) await socket.leave(room);
      // Join first, snapshot second: deltas that overtake the snapshot carry ids it already has, and the client drops them.
      await socket.join(rooms.feed(mode, client));
      try {
        const snapshot = await openIncidentSnapshot(this.#database, client);
        socket.emit('incidents:snapshot', snapshot);
        ack({ ok: true, data: { lastChangeId: snapshot.lastChangeId } });
      } catch (error) {
        this.#log.error({ err: error }, 'snapshot failed');
        ack({ ok: false, code: 'internal', message: 'could not read the incidents' });
      }
    });
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
    const chain = this.#chains.get(room) ?? { lastSent: 0, pending: [], timer: null };
    this.#chains.set(room, chain);
    if (!this.#realtime.io.of('/').adapter.rooms.has(room)) {
      // Nobody listens: skip the work, but keep the chain's position so a later delta's prev stays honest.
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
