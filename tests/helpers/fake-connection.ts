import type { EarlyFeed } from '../../src/lib/realtime/connection.svelte.ts';
import type { FeedRefusal } from '../../src/lib/protocol/events.ts';
import type { FeedRequest } from '../../src/lib/protocol/incidents.ts';

/**
 * The part of a Connection an IncidentsState uses: a socket the test drives by hand, subscriptions the
 * test answers, and the feeds counted in the connection's status.
 */
export class FakeConnection {
  readonly #handlers = new Map<string, Set<(...args: never[]) => void>>();
  readonly subscriptions: { feed: FeedRequest; refuse: (refusal: FeedRefusal) => void }[] = [];
  readonly counted: (() => boolean)[] = [];
  readonly socket = {
    connected: true,
    recovered: false,
    on: (event: string, handler: (...args: never[]) => void) => {
      if (!this.#handlers.has(event)) this.#handlers.set(event, new Set());
      this.#handlers.get(event)!.add(handler);
    },
    off: (event: string, handler: (...args: never[]) => void) => this.#handlers.get(event)?.delete(handler),
  };

  emit(event: string, ...args: unknown[]): void {
    for (const handler of this.#handlers.get(event) ?? []) (handler as (...a: unknown[]) => void)(...args);
  }
  /** What the next subscribe hands over as the handshake's (a reconnect whose handshake carried the subscription). */
  handshakeBrought: EarlyFeed | null = null;
  subscribe(feed: FeedRequest, onRefused: (refusal: FeedRefusal) => void): EarlyFeed | null {
    this.subscriptions.push({ feed, refuse: onRefused });
    const early = this.handshakeBrought;
    this.handshakeBrought = null;
    return early;
  }
  /** The subscriptions that would ride on the next handshake, newest last. */
  readonly riders: (() => FeedRequest)[] = [];
  rideOnHandshake(feed: () => FeedRequest): () => void {
    this.riders.push(feed);
    return () => this.riders.splice(this.riders.indexOf(feed), 1);
  }
  countFeed(refused: () => boolean): () => void {
    this.counted.push(refused);
    return () => this.counted.splice(this.counted.indexOf(refused), 1);
  }
  /** What Connection.status sees: some counted feed is refused. */
  get refused(): boolean {
    return this.counted.some((refused) => refused());
  }
  /** The latest subscription is refused, as the server's ack would. */
  refuseLatest(refusal: FeedRefusal): void {
    this.subscriptions.at(-1)!.refuse(refusal);
  }
  /** A reconnect the server could not recover: the state subscribes again. */
  reconnectWithoutRecovery(): void {
    this.emit('connect');
  }
}
