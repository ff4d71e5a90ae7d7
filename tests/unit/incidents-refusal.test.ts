import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IncidentsState } from '../../src/lib/state/incidents.svelte.ts';
import type { Connection } from '../../src/lib/realtime/connection.svelte.ts';
import type { FeedRefusal } from '../../src/lib/protocol/events.ts';
import { encodeSnapshot } from '../../src/lib/protocol/incidents.ts';
import { testIncident as incident } from '../helpers/incidents.ts';
import { FakeConnection } from '../helpers/fake-connection.ts';

const INTERNAL: FeedRefusal = { code: 'internal', message: 'could not read the incidents' };
const FORBIDDEN: FeedRefusal = { code: 'forbidden', message: 'you may not see client acme' };

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
