import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IncidentsState } from '../../src/lib/state/incidents.svelte.ts';
import type { Connection, EarlyFeed } from '../../src/lib/realtime/connection.svelte.ts';
import type { FeedRefusal } from '../../src/lib/protocol/events.ts';
import { encodeSnapshot, type FeedRequest } from '../../src/lib/protocol/incidents.ts';
import { testIncident as incident } from '../helpers/incidents.ts';

const INTERNAL: FeedRefusal = { code: 'internal', message: 'could not read the incidents' };
const FORBIDDEN: FeedRefusal = { code: 'forbidden', message: 'you may not see client acme' };

/**
 * The part of a Connection an IncidentsState uses: a socket the test drives by hand, subscriptions the
 * test answers, and the feeds counted in the connection's status.
 */
class FakeConnection {
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
  subscribe(feed: FeedRequest, onRefused: (refusal: FeedRefusal) => void): EarlyFeed | null {
    this.subscriptions.push({ feed, refuse: onRefused });
    return null;
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

describe('IncidentsState when the server refuses its subscription', () => {
  let connection: FakeConnection;
  let state: IncidentsState;
  const snapshot = (lastChangeId: number, ids: string[]) =>
    connection.emit('incidents:snapshot', encodeSnapshot({ lastChangeId, incidents: ids.map((id) => incident(id, 1)) }));

  beforeEach(() => {
    vi.useFakeTimers();
    connection = new FakeConnection();
    state = new IncidentsState(connection as unknown as Connection, { mode: 'console' });
  });
  afterEach(() => {
    state.close();
    vi.useRealTimers();
  });

  it('before any snapshot: the refusal is shown instead of the incidents, and counts as refused', () => {
    connection.refuseLatest(INTERNAL);
    expect(state.ready).toBe(false);
    expect(state.refusal).toEqual(INTERNAL);
    expect(state.notUpdating).toBeNull();
    expect(connection.refused).toBe(true);
  });

  it('after a snapshot: a refused re-subscription keeps the incidents, marks them not updating, and is asked again until a snapshot clears it', () => {
    snapshot(5, ['a', 'b']);
    expect(state.incidents.map((i) => i.id)).toEqual(['a', 'b']);
    expect(connection.refused).toBe(false);

    connection.reconnectWithoutRecovery();
    expect(connection.subscriptions).toHaveLength(2);
    connection.refuseLatest(INTERNAL);
    // The old incidents stay on screen, and everything that shows them knows they stopped updating.
    expect(state.incidents.map((i) => i.id)).toEqual(['a', 'b']);
    expect(state.refusal).toBeNull();
    expect(state.notUpdating).toEqual(INTERNAL);
    expect(connection.refused).toBe(true);

    // Asked again by itself; refused again, still not updating; then the database is back.
    vi.advanceTimersByTime(3000);
    expect(connection.subscriptions).toHaveLength(3);
    connection.refuseLatest(INTERNAL);
    expect(state.notUpdating).toEqual(INTERNAL);
    vi.advanceTimersByTime(3000);
    expect(connection.subscriptions).toHaveLength(4);
    snapshot(9, ['b', 'c']);
    expect(state.incidents.map((i) => i.id)).toEqual(['b', 'c']);
    expect(state.notUpdating).toBeNull();
    expect(connection.refused).toBe(false);
  });

  it('forbidden after a snapshot: marked as no longer updating, and not asked again (asking cannot cure it)', () => {
    snapshot(5, ['a']);
    connection.reconnectWithoutRecovery();
    connection.refuseLatest(FORBIDDEN);
    expect(state.notUpdating).toEqual(FORBIDDEN);
    expect(state.incidents.map((i) => i.id)).toEqual(['a']);
    vi.advanceTimersByTime(60_000);
    expect(connection.subscriptions).toHaveLength(2);
  });

  it('a closed state no longer counts in the connection: a page that left does not keep it "not updating"', () => {
    snapshot(5, ['a']);
    connection.reconnectWithoutRecovery();
    connection.refuseLatest(FORBIDDEN);
    expect(connection.refused).toBe(true);
    state.close();
    expect(connection.refused).toBe(false);
  });
});
