/**
 * The worker thread that owns embedded PGlite, so its WASM Postgres runs beside the server's event
 * loop rather than on it. The server speaks the Postgres wire protocol to it through postgres.js
 * (see pglite-thread.ts); PGlite executes whole protocol messages, the startup message included.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

export type HostRequest = { type: 'connect'; session: MessagePort } | { type: 'close' };
export type HostReply = { type: 'ready' } | { type: 'failed'; message: string } | { type: 'closed' };
/** What a session's port carries back: protocol bytes, or why PGlite could not execute them. */
export type SessionReply = Uint8Array | { error: string };

const { folder } = workerData as { folder: string | null };
const host = parentPort!;
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

let db: PGlite;
try {
  db = await PGlite.create(folder ?? undefined);
  host.postMessage({ type: 'ready' } satisfies HostReply);
} catch (error) {
  host.postMessage({ type: 'failed', message: messageOf(error) } satisfies HostReply);
  process.exit(1);
}

/** PGlite is one backend: every session's messages run one after another, in arrival order. */
let turn: Promise<void> = Promise.resolve();
const inTurn = (work: () => Promise<void>): Promise<void> => (turn = turn.then(work));

host.on('message', (request: HostRequest) => {
  if (request.type === 'close') {
    void inTurn(() => db.close()).then(() => host.postMessage({ type: 'closed' } satisfies HostReply));
    return;
  }
  const { session } = request;
  // A session that ended inside a transaction (its socket destroyed mid-way) must not leave it open for the next.
  void inTurn(async () => {
    if (db.isInTransaction()) await db.exec('rollback');
  });
  session.on('message', (bytes: Uint8Array) => {
    void inTurn(async () => {
      try {
        const answer = await db.execProtocolRaw(bytes);
        if (answer.length > 0) session.postMessage(answer satisfies SessionReply, [answer.buffer as ArrayBuffer]);
      } catch (error) {
        session.postMessage({ error: messageOf(error) } satisfies SessionReply);
      }
    });
  });
});
