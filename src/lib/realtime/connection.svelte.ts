import { untrack } from 'svelte';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, FeedRefusal, HandshakeAuth, ServerToClientEvents } from '$lib/protocol/events.ts';
import { retryDelay } from './retry-delay.ts';
import { decodeCatchUp, decodeDelta, decodeHead, type FeedRequest, type IncidentCatchUp, type IncidentDelta, type IncidentHead, type IncidentSnapshotFrame } from '$lib/protocol/incidents.ts';
import { screenStatus, type ScreenStatus, type SocketPhase } from './screen-status.ts';
import { serverServes } from './server-build.ts';

export type ConnectionStatus = ScreenStatus | 'ended';

/** No heartbeat or update for this long and the screen is stale, whatever the socket says. */
export const STALE_AFTER_MS = 10_000;

/** What arrived for the subscription sent with the handshake before a state took it over. */
export interface EarlyFeed {
  /** The top of the queue, when the subscription asked for it. */
  head: IncidentHead | null;
  /** As it came: decoding 10,000 rows is left to the state, which may draw the head first. */
  snapshot: IncidentSnapshotFrame | null;
  /** The answer to a resume the handshake asked for, in place of a snapshot. */
  resumed: IncidentCatchUp | null;
  /** Deltas since the snapshot; with a resume (or none yet), every delta that came, to apply after it. */
  deltas: IncidentDelta[];
}

/**
 * What a handshake's subscription has brought once its snapshot comes. The deltas that came before it stay: the
 * server reads the snapshot after joining the room, so one of them may have been published after that read
 * and carry changes past the snapshot's id; the state applies them after it and drops those it covers.
 * (Dropping them all made such a delta's successor look like a gap: a needless resync, a second snapshot.) Pure.
 */
export function withSnapshot(early: EarlyFeed, snapshot: IncidentSnapshotFrame): EarlyFeed {
  return { head: early.head, snapshot, resumed: null, deltas: early.deltas };
}

/** Deltas kept for a handshake subscription nobody took over; past this it is given up (the state then subscribes itself). */
const EARLY_DELTAS_MAX = 500;

/**
 * Whether a state's subscription is the one the handshake made. The resume point does not count: the state's
 * may have moved on since the handshake (deltas applied meanwhile), and a catch-up from an earlier id applies as well.
 */
const sameFeed = (a: FeedRequest, b: FeedRequest) => a.mode === b.mode && (a.scope.client ?? null) === (b.scope.client ?? null);

/**
 * The app's one Socket.IO connection and what people need to know about it: live, reconnecting,
 * stale since when, or not updating because the server refused the page's subscription. Socket.IO
 * reconnects by itself forever with backoff and jitter after a network blip; after the server closed the
 * socket (a restart) or refused its handshake for another reason than the session, this class does.
 */
export class Connection {
  #status = $state<SocketPhase | 'ended'>('connecting');
  #lastMessageAt = $state<number | null>(null);
  #endedReason = $state<string | null>(null);
  #now = $state(Date.now());
  /** Whether each feed counted in the status (see {@link countFeed}) has its current subscription refused. */
  #feedsRefused = $state.raw<readonly (() => boolean)[]>([]);
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  #ticker: ReturnType<typeof setInterval>;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #retries = 0;

  /** Sent with every handshake until one delivers it. */
  #feedToSend: FeedRequest | null = null;
  /** What {@link #feedToSend} will be, while it is still being worked out: the handshake waits for it. */
  #feedComing: Promise<void> | null = null;
  /** The subscriptions of the states on this connection, newest last: the newest rides on later handshakes. */
  #riders: (() => FeedRequest)[] = [];
  /** The subscription the current connection's handshake made, and what it brought until a state takes it. */
  #handshakeFeed: { feed: FeedRequest; early: EarlyFeed; refusal: FeedRefusal | null } | null = null;

  /**
   * `feed`: subscribe with the handshake (see `HandshakeAuth`), so the snapshot is on its way before
   * the page that shows it has rendered; the page's state takes it over through {@link subscribe}. A promise
   * (a subscription that needs an asynchronous read, such as a stored resume point) holds the handshake back
   * until it settles, not the transport: the two are worked out side by side. It must settle (undefined: none).
   */
  constructor(url = '/', options: { feed?: FeedRequest | Promise<FeedRequest | undefined> } = {}) {
    performance.mark('wf:connecting');
    const feed = options.feed;
    if (feed instanceof Promise) {
      this.#feedComing = feed.then(
        (coming) => void (this.#feedToSend = coming ?? null),
        () => undefined,
      );
    } else this.#feedToSend = feed ?? null;
    let sentWithHandshake: FeedRequest | null = null;
    const handshake = (send: (auth: HandshakeAuth) => void) => {
      sentWithHandshake = this.#feedToSend ?? this.#riders.at(-1)?.() ?? null;
      send(sentWithHandshake ? { feed: sentWithHandshake } : {});
    };
    this.socket = io(url, {
      // Socket.IO asks for the handshake's payload once the transport is open, and waits for `send`.
      auth: (send: (auth: HandshakeAuth) => void) => {
        const coming = this.#feedComing;
        if (!coming) return handshake(send);
        void coming.then(() => {
          this.#feedComing = null;
          handshake(send);
        });
      },
      withCredentials: true,
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
      randomizationFactor: 0.5,
      transports: ['websocket', 'polling'],
    });
    this.socket.on('connect', () => {
      performance.mark('wf:connected');
      this.#retries = 0;
      this.#heard('live');
      this.#handshakeFeed =
        sentWithHandshake && !this.socket.recovered ? { feed: sentWithHandshake, early: { head: null, snapshot: null, resumed: null, deltas: [] }, refusal: null } : null;
      if (this.#handshakeFeed) this.#feedToSend = null;
    });
    // Until a state takes the handshake's subscription over, what it brings is kept here.
    this.socket.on('incidents:head', (head) => {
      performance.mark('wf:head-received');
      if (this.#handshakeFeed) this.#handshakeFeed.early.head = decodeHead(head);
    });
    this.socket.on('incidents:snapshot', (snapshot) => {
      if (!this.#handshakeFeed) return;
      performance.mark('wf:snapshot-received');
      this.#handshakeFeed.early = withSnapshot(this.#handshakeFeed.early, snapshot);
    });
    this.socket.on('incidents:resumed', (catchUp) => {
      // Deltas that came before it stay: the state applies them after it (those it already covers are dropped).
      if (this.#handshakeFeed) this.#handshakeFeed.early.resumed = decodeCatchUp(catchUp);
    });
    this.socket.on('incidents:changed', (delta) => {
      const early = this.#handshakeFeed?.early;
      if (!early) return;
      early.deltas.push(decodeDelta(delta));
      if (early.deltas.length > EARLY_DELTAS_MAX) this.#handshakeFeed = null;
    });
    this.socket.on('incidents:refused', (refusal) => {
      if (this.#handshakeFeed) this.#handshakeFeed.refusal = refusal;
    });
    this.socket.on('session:ready', ({ appVersion }) => {
      this.#heard('live');
      serverServes(appVersion);
    });
    this.socket.on('server:heartbeat', () => this.#heard());
    this.socket.on('disconnect', (reason) => {
      this.#handshakeFeed = null;
      if (this.#status === 'ended') return;
      this.#status = 'reconnecting';
      // The server closing the socket without ending the session (a restart, a deploy) is not a goodbye, but
      // Socket.IO does not retry it by itself: the console stayed "Reconnecting…" until someone reloaded it.
      if (reason === 'io server disconnect') this.#scheduleRetry();
    });
    this.socket.on('connect_error', (error) => {
      // The handshake refused our session: signing in again is the only way back.
      if (error.message === 'unauthenticated') return this.#end('signed out');
      if (this.#status === 'ended') return;
      this.#status = 'reconnecting';
      // Refused by the server for another reason (it could not read the session): Socket.IO gives up on those.
      if (!this.socket.active) this.#scheduleRetry();
    });
    this.socket.on('session:ended', ({ reason }) => this.#end(reason.replace('_', ' ')));
    this.#ticker = setInterval(() => (this.#now = Date.now()), 1000);
  }

  /** live, reconnecting, stale (no news for STALE_AFTER_MS), refused (a feed's subscription) or ended (signed out). */
  get status(): ConnectionStatus {
    if (this.#status === 'ended') return 'ended';
    const silentTooLong = this.#lastMessageAt !== null && this.#now - this.#lastMessageAt > STALE_AFTER_MS;
    return screenStatus(this.#status, silentTooLong, this.#feedsRefused.some((refused) => refused()));
  }

  /**
   * Counts a feed on this connection in {@link status} until the returned function is called: while
   * `refused()` says the server refused its current subscription, the connection is `refused`, not
   * `live`, in every indicator — what is on screen has stopped updating.
   */
  countFeed(refused: () => boolean): () => void {
    // Pages count their feed while they set up, inside an effect: reading the list there must not make that
    // effect depend on it (it would run again, count again, and never stop).
    untrack(() => (this.#feedsRefused = [...this.#feedsRefused, refused]));
    return () => untrack(() => (this.#feedsRefused = this.#feedsRefused.filter((f) => f !== refused)));
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

  /**
   * Makes `feed` ride on every later handshake of this connection (a reconnect's), so its answer, a catch-up
   * from its resume point or a snapshot, starts with the connection instead of after a round trip; the state
   * then takes it over through {@link subscribe}. The newest rider is sent; returns the undo.
   */
  rideOnHandshake(feed: () => FeedRequest): () => void {
    this.#riders.push(feed);
    return () => {
      const at = this.#riders.indexOf(feed);
      if (at >= 0) this.#riders.splice(at, 1);
    };
  }

  /**
   * Subscribes to `feed` (the server answers with a snapshot or a catch-up, then deltas) — unless this connection's
   * handshake already did and nobody has taken that over yet: then nothing is sent, and what arrived for
   * it so far is returned for the caller to apply before the events that follow. A refusal (of this
   * request, or of the handshake's that the server already answered) goes to `onRefused`; one that
   * comes for the handshake's after it was taken over arrives as `incidents:refused`.
   */
  subscribe(feed: FeedRequest, onRefused: (refusal: FeedRefusal) => void): EarlyFeed | null {
    const handshake = this.#handshakeFeed;
    this.#handshakeFeed = null;
    if (handshake && sameFeed(handshake.feed, feed)) {
      if (!handshake.refusal) return handshake.early;
      onRefused(handshake.refusal);
      return null;
    }
    performance.mark('wf:subscribe');
    this.socket.emit('incidents:subscribe', feed, (reply) => {
      if (!reply.ok) onRefused({ code: reply.code, message: reply.message });
    });
    return null;
  }

  /** Call for every message that proves the server is alive and we are current. */
  #heard(status?: 'live') {
    this.#lastMessageAt = Date.now();
    this.#now = this.#lastMessageAt;
    if (status) this.#status = status;
  }

  #scheduleRetry(): void {
    if (this.#retry !== null) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (this.#status !== 'ended' && !this.socket.connected) this.socket.connect();
    }, retryDelay(this.#retries++));
  }

  #end(reason: string) {
    this.#status = 'ended';
    this.#endedReason = reason;
    this.#stopRetrying();
    this.socket.disconnect();
  }

  #stopRetrying(): void {
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
  }

  close(): void {
    clearInterval(this.#ticker);
    this.#stopRetrying();
    this.socket.disconnect();
  }
}
