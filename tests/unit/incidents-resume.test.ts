import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IncidentsState, type IncidentsApplied } from '../../src/lib/state/incidents.svelte.ts';
import { withSnapshot, type Connection } from '../../src/lib/realtime/connection.svelte.ts';
import { encodeCatchUp, encodeDelta, encodeSnapshot, type IncidentCatchUp, type IncidentCatchUpFrame, type IncidentDeltaFrame, type IncidentDto } from '../../src/lib/protocol/incidents.ts';
import type { IncidentsCopy } from '../../src/lib/realtime/incidents-copy.ts';
import { testIncident as incident } from '../helpers/incidents.ts';
import { FakeConnection } from '../helpers/fake-connection.ts';

describe('IncidentsState resumes instead of taking a snapshot', () => {
  let connection: FakeConnection;
  let state: IncidentsState;
  let applied: IncidentsApplied[];
  const snapshot = (lastChangeId: number, incidents: IncidentDto[], feedId?: string) =>
    connection.emit('incidents:snapshot', encodeSnapshot({ lastChangeId, incidents, ...(feedId ? { feedId } : {}) }));
  const delta = (prev: number, last: number, incidents: IncidentDto[]): IncidentDeltaFrame => encodeDelta({ prev, last, incidents });
  const catchUp = (prev: number, last: number, incidents: IncidentDto[]): IncidentCatchUpFrame => encodeCatchUp({ prev, last, incidents, feedId: 'F' });
  /** What is shown, in id order (the queue's own order is priority, which these incidents tie on). */
  const shown = () => state.incidents.map((i) => `${i.id}:${i.summary}`).sort();
  const ids = () => state.incidents.map((i) => i.id).sort();
  /** Deltas are applied once per frame; without a browser that is a 250 ms timer. */
  const frame = () => vi.advanceTimersByTime(300);

  beforeEach(() => {
    vi.useFakeTimers();
    connection = new FakeConnection();
    state = new IncidentsState(connection as unknown as Connection, { mode: 'console' });
    applied = [];
    state.onApplied((a) => applied.push(a));
  });
  afterEach(() => {
    state.close();
    vi.useRealTimers();
  });

  it('a first subscription asks for a snapshot; after one, a reconnect asks to resume from the id held, and keeps the incidents on screen', () => {
    expect(connection.subscriptions.map((s) => s.feed)).toEqual([{ scope: {}, mode: 'console' }]);
    snapshot(10, [incident('a', 1), incident('b', 1)], 'F');
    connection.emit('incidents:changed', delta(10, 12, [incident('c', 1)]));
    frame();
    connection.reconnectWithoutRecovery();
    expect(connection.subscriptions.at(-1)!.feed).toEqual({ scope: {}, mode: 'console', resume: { after: 12, feedId: 'F' } });
    expect(state.ready).toBe(true);
    expect(ids()).toEqual(['a', 'b', 'c']);
  });

  it('the catch-up brings the incidents up to date, with the deltas that came before it, and is applied as a snapshot is', () => {
    snapshot(10, [incident('a', 1), incident('b', 1)], 'F');
    connection.reconnectWithoutRecovery();
    // A delta of the room overtakes the catch-up: held back, applied after it.
    connection.emit('incidents:changed', delta(12, 13, [incident('d', 1, { summary: 'd new' })]));
    frame();
    expect(ids()).toEqual(['a', 'b']);
    applied = [];
    connection.emit('incidents:resumed', catchUp(10, 12, [incident('a', 2, { summary: 'a acknowledged' }), incident('b', 2, { status: 'resolved' })]));
    expect(shown()).toEqual(['a:a acknowledged', 'd:d new']);
    expect(state.lastChangeId).toBe(13);
    expect(state.answer).toBe('resume');
    expect(state.resyncs).toBe(0);
    // Nothing in it is "new" to a person, as after a snapshot: no flash, no chime.
    expect(applied).toEqual([{ snapshot: true, added: [], updated: [], removed: [] }]);
    // And it goes on from there.
    connection.emit('incidents:changed', delta(13, 14, [incident('e', 1)]));
    frame();
    expect(ids()).toEqual(['a', 'd', 'e']);
  });

  it('a server that did not name its feed (older than resuming) gets a plain subscription, as before', () => {
    snapshot(10, [incident('a', 1)]);
    connection.reconnectWithoutRecovery();
    expect(connection.subscriptions.at(-1)!.feed).toEqual({ scope: {}, mode: 'console' });
    expect(connection.riders.at(-1)!()).toEqual({ scope: {}, mode: 'console' });
  });

  it('after a gap it resumes from the last id it applied, not from the missed delta', () => {
    snapshot(10, [incident('a', 1)], 'F');
    connection.emit('incidents:changed', delta(10, 11, [incident('b', 1)]));
    frame();
    connection.emit('incidents:changed', delta(15, 16, [incident('c', 1)]));
    frame();
    expect(state.resyncs).toBe(1);
    expect(connection.subscriptions.at(-1)!.feed.resume).toEqual({ after: 11, feedId: 'F' });
    connection.emit('incidents:resumed', catchUp(11, 16, [incident('c', 1), incident('z', 1)]));
    expect(ids()).toEqual(['a', 'b', 'c', 'z']);
  });

  it('a refused resume keeps the incidents, not updating, and asks again from the same id; a snapshot then replaces them', () => {
    snapshot(10, [incident('a', 1)], 'F');
    connection.reconnectWithoutRecovery();
    connection.refuseLatest({ code: 'internal', message: 'could not read the incidents' });
    expect(state.notUpdating?.code).toBe('internal');
    vi.advanceTimersByTime(3000);
    expect(connection.subscriptions.at(-1)!.feed.resume).toEqual({ after: 10, feedId: 'F' });
    snapshot(30, [incident('q', 1)], 'G');
    expect(ids()).toEqual(['q']);
    expect(state.notUpdating).toBeNull();
    expect(state.answer).toBe('snapshot');
    expect(connection.riders.at(-1)!()).toEqual({ scope: {}, mode: 'console', resume: { after: 30, feedId: 'G' } });
  });

  it('rides on the next handshake with its resume point, and takes over what that brought', () => {
    snapshot(10, [incident('a', 1)], 'F');
    expect(connection.riders).toHaveLength(1);
    expect(connection.riders[0]()).toEqual({ scope: {}, mode: 'console', resume: { after: 10, feedId: 'F' } });
    connection.handshakeBrought = { head: null, snapshot: null, resumed: { prev: 10, last: 11, incidents: [incident('b', 1)], feedId: 'F' }, deltas: [{ prev: 11, last: 12, incidents: [incident('c', 1)] }] };
    connection.reconnectWithoutRecovery();
    frame();
    expect(ids()).toEqual(['a', 'b', 'c']);
    expect(state.answer).toBe('resume');
    state.close();
    expect(connection.riders).toHaveLength(0);
  });

  it("a delta published between the server's snapshot read and its sending, arriving before the snapshot, is applied after it, not taken for a gap", () => {
    // The handshake's subscription: the delta 10 → 12 overtook the snapshot, which was read at 11.
    const early = { head: null, snapshot: null, resumed: null, deltas: [{ prev: 10, last: 12, incidents: [incident('c', 1)] }] };
    const frame11 = encodeSnapshot({ lastChangeId: 11, incidents: [incident('a', 1), incident('b', 1)], feedId: 'F' });
    connection.handshakeBrought = withSnapshot(early, frame11);
    state.close();
    state = new IncidentsState(connection as unknown as Connection, { mode: 'console' });
    connection.emit('incidents:changed', delta(12, 13, [incident('d', 1)]));
    frame();
    expect(ids()).toEqual(['a', 'b', 'c', 'd']);
    expect(state.lastChangeId).toBe(13);
    expect(state.resyncs).toBe(0);
  });
});

describe('IncidentsState started from a copy kept by an earlier page life (the phone reopened)', () => {
  let connection: FakeConnection;
  let state: IncidentsState | null = null;
  const copy = (feedId: string | null = 'F'): IncidentsCopy => ({ incidents: [incident('a', 1), incident('b', 1)], lastChangeId: 10, feedId });
  const open = (resumeFrom: IncidentsCopy | null) => {
    state = new IncidentsState(connection as unknown as Connection, { mode: 'screen', resumeFrom });
    return state;
  };
  const ids = (s: IncidentsState) => s.incidents.map((i) => i.id).sort();
  const catchUp = (prev: number, last: number, incidents: IncidentDto[], feedId = 'F'): IncidentCatchUp => ({ prev, last, incidents, feedId });

  beforeEach(() => {
    vi.useFakeTimers();
    connection = new FakeConnection();
  });
  afterEach(() => {
    state?.close();
    vi.useRealTimers();
  });

  it('its first subscription asks to resume from the copy; the catch-up brings it up to date, applied as a snapshot is', () => {
    const live = open(copy());
    expect(connection.subscriptions.map((s) => s.feed)).toEqual([{ scope: {}, mode: 'screen', resume: { after: 10, feedId: 'F' } }]);
    expect(connection.riders[0]()).toEqual({ scope: {}, mode: 'screen', resume: { after: 10, feedId: 'F' } });
    // Until the answer, nothing is shown from here (the phone shows its copy, stale), and there is nothing new to keep.
    expect(live.ready).toBe(false);
    expect(live.incidents).toEqual([]);
    expect(live.copy()).toBeNull();
    const applied: IncidentsApplied[] = [];
    live.onApplied((a) => applied.push(a));
    connection.emit('incidents:resumed', encodeCatchUp(catchUp(10, 13, [incident('a', 2, { status: 'resolved' }), incident('c', 1)])));
    expect(ids(live)).toEqual(['b', 'c']);
    expect(live.answer).toBe('resume');
    expect(live.resyncs).toBe(0);
    expect(applied).toEqual([{ snapshot: true, added: [], updated: [], removed: [] }]);
    expect(live.copy()).toEqual({ incidents: live.incidents, lastChangeId: 13, feedId: 'F' });
  });

  it("takes over the handshake's answer to the same resume", () => {
    connection.handshakeBrought = { head: null, snapshot: null, resumed: catchUp(10, 11, [incident('c', 1)]), deltas: [{ prev: 11, last: 12, incidents: [incident('d', 1)] }] };
    const live = open(copy());
    vi.advanceTimersByTime(300);
    expect(ids(live)).toEqual(['a', 'b', 'c', 'd']);
    expect(live.lastChangeId).toBe(12);
    expect(live.answer).toBe('resume');
  });

  it('a resume the server refused is answered by a snapshot, which replaces the copy', () => {
    const live = open(copy());
    connection.emit('incidents:snapshot', encodeSnapshot({ lastChangeId: 50, incidents: [incident('q', 1)], feedId: 'G' }));
    expect(ids(live)).toEqual(['q']);
    expect(live.answer).toBe('snapshot');
    expect(live.copy()).toMatchObject({ lastChangeId: 50, feedId: 'G' });
  });

  it('a refusal while the copy is on its way keeps asking to resume from it', () => {
    const live = open(copy());
    connection.refuseLatest({ code: 'internal', message: 'could not read the incidents' });
    expect(live.refusal?.code).toBe('internal');
    expect(live.notUpdating).toBeNull();
    vi.advanceTimersByTime(3000);
    expect(connection.subscriptions.at(-1)!.feed.resume).toEqual({ after: 10, feedId: 'F' });
  });

  it('a copy that cannot be resumed (no feedId: kept before resuming existed), or none, subscribes for a snapshot as before', () => {
    open(copy(null)).close();
    open(null);
    expect(connection.subscriptions.map((s) => s.feed)).toEqual([
      { scope: {}, mode: 'screen' },
      { scope: {}, mode: 'screen' },
    ]);
  });
});
