/**
 * Embedded PGlite in its own worker thread, reached through postgres.js like any Postgres server.
 *
 * In the server's thread, PGlite's WASM ran on the event loop: while it executed a write of a few
 * thousand signals, no webhook was parsed and no delta reached a screen. In a worker the database
 * works on one core while the server encodes and sends on the other, as with a Postgres server;
 * and both databases go through the same driver (postgres.js), types and all.
 */
import { Duplex } from 'node:stream';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { HostReply, HostRequest, SessionReply } from './pglite-thread-host.ts';

/** A socket for postgres.js (its `socket` option) whose other end is a PGlite session in the worker. */
class SessionSocket extends Duplex {
  /** postgres.js reads it to decide whether to say goodbye on end(). */
  readyState: 'open' | 'closed' = 'open';
  readonly #port: MessagePort;

  constructor(port: MessagePort) {
    super();
    this.#port = port;
    port.on('message', (reply: SessionReply) => {
      if (reply instanceof Uint8Array) this.push(Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength));
      else this.destroy(new Error(`embedded database: ${reply.error}`));
    });
    port.on('close', () => this.destroy());
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    // A copy of exactly this chunk, moved rather than cloned (a Buffer may view a larger shared pool).
    const bytes = new Uint8Array(chunk);
    this.#port.postMessage(bytes, [bytes.buffer]);
    done();
  }

  override _read(): void {}

  override _final(done: (error?: Error | null) => void): void {
    this.#shut();
    this.push(null);
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#shut();
    done(error);
  }

  #shut(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.#port.close();
  }
}

export interface PgliteThread {
  /** A new protocol session (postgres.js opens one per connection; use one connection). */
  connect(): Duplex;
  /** Closes PGlite (its files flushed) and ends the thread. */
  close(): Promise<void>;
}

/** Starts PGlite on `folder` (null: in memory) in a worker thread; rejects if it cannot open. */
export async function startPgliteThread(folder: string | null): Promise<PgliteThread> {
  const worker = new Worker(new URL('./pglite-thread-host.ts', import.meta.url), { workerData: { folder } });
  const send = (request: HostRequest, transfer: MessagePort[] = []) => worker.postMessage(request, transfer);
  const reply = (expected: HostReply['type']) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (message: HostReply) => {
        if (message.type !== expected && message.type !== 'failed') return;
        worker.off('message', onMessage).off('error', reject).off('exit', onExit);
        if (message.type === 'failed') reject(new Error(`embedded database: ${message.message}`));
        else resolve();
      };
      const onExit = (code: number) => reject(new Error(`embedded database thread exited (code ${code})`));
      worker.on('message', onMessage).once('error', reject).once('exit', onExit);
    });
  try {
    await reply('ready');
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return {
    connect() {
      const { port1, port2 } = new MessageChannel();
      send({ type: 'connect', session: port2 }, [port2]);
      return new SessionSocket(port1);
    },
    async close() {
      const closed = reply('closed');
      send({ type: 'close' });
      await closed;
      await worker.terminate();
    },
  };
}
