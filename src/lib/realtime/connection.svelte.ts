import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '$lib/protocol/events.ts';

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'stale' | 'ended';

/** No heartbeat or update for this long and the screen is stale, whatever the socket says. */
export const STALE_AFTER_MS = 10_000;

/**
 * The app's one Socket.IO connection and what people need to know about it: live, reconnecting,
 * or stale since when. Socket.IO reconnects by itself forever with backoff and jitter.
 */
export class Connection {
  #status = $state<ConnectionStatus>('connecting');
  #lastMessageAt = $state<number | null>(null);
  #endedReason = $state<string | null>(null);
  #now = $state(Date.now());
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  #ticker: ReturnType<typeof setInterval>;

  constructor(url = '/') {
    performance.mark('wf:connecting');
    this.socket = io(url, {
      withCredentials: true,
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
      randomizationFactor: 0.5,
      transports: ['websocket', 'polling'],
    });
    this.socket.on('connect', () => {
      performance.mark('wf:connected');
      this.#heard('live');
    });
    this.socket.on('session:ready', () => this.#heard('live'));
    this.socket.on('server:heartbeat', () => this.#heard());
    this.socket.on('disconnect', () => {
      if (this.#status !== 'ended') this.#status = 'reconnecting';
    });
    this.socket.on('connect_error', (error) => {
      // The handshake refused our session: signing in again is the only way back.
      if (error.message === 'unauthenticated') this.#end('signed out');
      else if (this.#status !== 'ended') this.#status = 'reconnecting';
    });
    this.socket.on('session:ended', ({ reason }) => this.#end(reason.replace('_', ' ')));
    this.#ticker = setInterval(() => (this.#now = Date.now()), 1000);
  }

  /** live, reconnecting, stale (no news for STALE_AFTER_MS) or ended (signed out). */
  get status(): ConnectionStatus {
    if (this.#status === 'ended' || this.#status === 'connecting') return this.#status;
    if (this.#lastMessageAt !== null && this.#now - this.#lastMessageAt > STALE_AFTER_MS) return 'stale';
    return this.#status;
  }
  get lastMessageAt(): number | null {
    return this.#lastMessageAt;
  }
  get endedReason(): string | null {
    return this.#endedReason;
  }
  /** Seconds since the last message, updated every second. */
  get silenceSeconds(): number | null {
    return this.#lastMessageAt === null ? null : Math.max(0, Math.round((this.#now - this.#lastMessageAt) / 1000));
  }

  /** Call for every message that proves the server is alive and we are current. */
  #heard(status?: ConnectionStatus) {
    this.#lastMessageAt = Date.now();
    this.#now = this.#lastMessageAt;
    if (status) this.#status = status;
  }

  #end(reason: string) {
    this.#status = 'ended';
    this.#endedReason = reason;
    this.socket.disconnect();
  }

  close(): void {
    clearInterval(this.#ticker);
    this.socket.disconnect();
  }
}
