import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyDelta, applySnapshot, emptySync, type SyncResult, type SyncState } from '../../src/lib/realtime/incident-sync.ts';
import type { IncidentDelta, IncidentDto } from '../../src/lib/protocol/incidents.ts';
import { testIncident as incident } from '../helpers/incidents.ts';

const delta = (prev: number, last: number, incidents: IncidentDto[]): IncidentDelta => ({ prev, last, incidents });

function ok(result: SyncResult): SyncState {
  expect(result.resync).toBe(false);
  return result.state;
}

const view = (state: SyncState) => Object.fromEntries([...state.incidents].map(([id, i]) => [id, i.summary]));

describe('incident sync reducer', () => {
  it('starts empty and not ready', () => {
    const state = emptySync();
    expect(state.ready).toBe(false);
    expect(state.incidents.size).toBe(0);
    expect(state.lastChangeId).toBe(0);
  });

  it('a snapshot replaces whatever the client held', () => {
    let state = ok(applySnapshot(emptySync(), { lastChangeId: 10, incidents: [incident('a', 1), incident('b', 1)] }));
    expect(state.ready).toBe(true);
    expect(state.lastChangeId).toBe(10);
    expect([...state.incidents.keys()].sort()).toEqual(['a', 'b']);
    state = ok(applySnapshot(state, { lastChangeId: 20, incidents: [incident('c', 1)] }));
    expect([...state.incidents.keys()]).toEqual(['c']);
    expect(state.lastChangeId).toBe(20);
  });

  it('deltas that arrive before the snapshot are kept and applied on top of it', () => {
    let state = ok(applyDelta(emptySync(), delta(10, 11, [incident('a', 2, { summary: 'newer' })])));
    state = ok(applyDelta(state, delta(11, 12, [incident('b', 1)])));
    expect(state.ready).toBe(false);
    expect(state.incidents.size).toBe(0);
    state = ok(applySnapshot(state, { lastChangeId: 11, incidents: [incident('a', 2, { summary: 'newer' })] }));
    // delta 11 was already in the snapshot; delta 12 was not
    expect(view(state)).toEqual({ a: 'newer', b: 'incident b v1' });
    expect(state.lastChangeId).toBe(12);
    expect(state.early).toEqual([]);
  });

  it('an early delta that leaves a gap after the snapshot asks for a resync', () => {
    const state = ok(applyDelta(emptySync(), delta(15, 16, [incident('a', 3)])));
    const result = applySnapshot(state, { lastChangeId: 12, incidents: [] });
    expect(result.resync).toBe(true);
  });

  it('applies deltas in order and advances lastChangeId', () => {
    let state = ok(applySnapshot(emptySync(), { lastChangeId: 5, incidents: [incident('a', 1)] }));
    state = ok(applyDelta(state, delta(5, 6, [incident('a', 2, { summary: 'a2' })])));
    state = ok(applyDelta(state, delta(6, 9, [incident('b', 1, { summary: 'b1' })])));
    expect(view(state)).toEqual({ a: 'a2', b: 'b1' });
    expect(state.lastChangeId).toBe(9);
  });

  it('a delta whose prev is below what the client has is fine (a scoped chain skips other clients’ ids)', () => {
    let state = ok(applySnapshot(emptySync(), { lastChangeId: 50, incidents: [] }));
    state = ok(applyDelta(state, delta(40, 51, [incident('a', 1)])));
    expect(state.lastChangeId).toBe(51);
    expect(state.incidents.has('a')).toBe(true);
  });

  it('duplicates and deltas already covered are dropped', () => {
    let state = ok(applySnapshot(emptySync(), { lastChangeId: 5, incidents: [] }));
    const d = delta(5, 6, [incident('a', 1, { summary: 'first' })]);
    state = ok(applyDelta(state, d));
    state = ok(applyDelta(state, delta(6, 7, [incident('a', 2, { summary: 'second' })])));
    const again = applyDelta(state, d);
    expect(again.resync).toBe(false);
    expect(again.state).toBe(state);
    expect(view(again.state)).toEqual({ a: 'second' });
  });

  it('a gap (prev above what the client has) asks for a resync and leaves the state alone', () => {
    const state = ok(applySnapshot(emptySync(), { lastChangeId: 5, incidents: [incident('a', 1)] }));
    const result = applyDelta(state, delta(7, 8, [incident('b', 1)]));
    expect(result.resync).toBe(true);
    if (result.resync) expect(result.reason).toMatch(/6/);
    expect(result.state).toBe(state);
    expect(result.state.incidents.has('b')).toBe(false);
  });

  it('version guard: an older state of an incident never replaces a newer one', () => {
    let state = ok(applySnapshot(emptySync(), { lastChangeId: 5, incidents: [incident('a', 4, { summary: 'v4' })] }));
    state = ok(applyDelta(state, delta(5, 6, [incident('a', 3, { summary: 'v3' })])));
    expect(view(state)).toEqual({ a: 'v4' });
    // ...and an older resolved state does not remove it either
    state = ok(applyDelta(state, delta(6, 7, [incident('a', 2, { status: 'resolved' })])));
    expect(view(state)).toEqual({ a: 'v4' });
    expect(state.lastChangeId).toBe(7);
  });

  it('resolved incidents leave the view; unknown resolved ones are ignored', () => {
    let state = ok(applySnapshot(emptySync(), { lastChangeId: 1, incidents: [incident('a', 1), incident('b', 1)] }));
    state = ok(applyDelta(state, delta(1, 2, [incident('a', 2, { status: 'resolved' }), incident('z', 1, { status: 'resolved' })])));
    expect([...state.incidents.keys()]).toEqual(['b']);
    // acknowledged stays in view
    state = ok(applyDelta(state, delta(2, 3, [incident('b', 2, { status: 'acknowledged' })])));
    expect(state.incidents.get('b')?.status).toBe('acknowledged');
  });

  it('does not mutate the state it is given', () => {
    const state = ok(applySnapshot(emptySync(), { lastChangeId: 1, incidents: [incident('a', 1)] }));
    const before = new Map(state.incidents);
    applyDelta(state, delta(1, 2, [incident('a', 2, { status: 'resolved' }), incident('b', 1)]));
    expect(state.incidents).toEqual(before);
    expect(state.lastChangeId).toBe(1);
  });

  it('property: any chain of deltas, delivered whole, ends in the server’s view; dropping one is detected', () => {
    // The server's history: versions of incidents a..d, one change id per step, grouped into deltas.
    const step = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd'), resolved: fc.boolean() });
    fc.assert(
      fc.property(fc.array(fc.array(step, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 20 }), fc.nat(), (batches, dropAt) => {
        const server = new Map<string, IncidentDto>();
        const versions = new Map<string, number>();
        let changeId = 0;
        const deltas: IncidentDelta[] = [];
        for (const batch of batches) {
          const prev = changeId;
          const touched = new Map<string, IncidentDto>();
          for (const s of batch) {
            changeId += 1;
            const version = (versions.get(s.id) ?? 0) + 1;
            versions.set(s.id, version);
            const dto = incident(s.id, version, { status: s.resolved ? 'resolved' : 'triggered' });
            touched.set(s.id, dto);
            if (s.resolved) server.delete(s.id);
            else server.set(s.id, dto);
          }
          deltas.push(delta(prev, changeId, [...touched.values()]));
        }
        let state = ok(applySnapshot(emptySync(), { lastChangeId: 0, incidents: [] }));
        for (const d of deltas) state = ok(applyDelta(state, d));
        expect(state.incidents).toEqual(server);
        expect(state.lastChangeId).toBe(changeId);

        if (deltas.length < 2) return;
        const skip = dropAt % (deltas.length - 1); // never the last: a dropped last delta is only noticed later
        let partial = ok(applySnapshot(emptySync(), { lastChangeId: 0, incidents: [] }));
        let resync = false;
        for (const [i, d] of deltas.entries()) {
          if (i === skip) continue;
          const result = applyDelta(partial, d);
          if (result.resync) {
            resync = true;
            break;
          }
          partial = result.state;
        }
        expect(resync).toBe(true);
      }),
    );
  });
});
