import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyDelta, applyResume, applySnapshot, awaitAnswer, emptySync, resumePoint, type SyncResult, type SyncState } from '../../src/lib/realtime/incident-sync.ts';
import { copyOfSync, syncFromCopy, type IncidentsCopy } from '../../src/lib/realtime/incidents-copy.ts';
import type { IncidentCatchUp, IncidentDelta, IncidentDto } from '../../src/lib/protocol/incidents.ts';
import { testChangeLog, testIncident as incident } from '../helpers/incidents.ts';
import { catchUpOf } from '../../server/realtime/feed-resume.ts';
import { coalesceChanges } from '../../server/realtime/coalesce.ts';

function ok(result: SyncResult): SyncState {
  expect(result.resync).toBe(false);
  return result.state;
}
const delta = (prev: number, last: number, incidents: IncidentDto[]): IncidentDelta => ({ prev, last, incidents });
const catchUp = (prev: number, last: number, incidents: IncidentDto[], feedId = 'F'): IncidentCatchUp => ({ prev, last, incidents, feedId });
const view = (state: SyncState) => Object.fromEntries([...state.incidents].map(([id, i]) => [id, i.summary]));
/** What IndexedDB gives back: plain data, a copy of what was put. */
const stored = (copy: IncidentsCopy): IncidentsCopy => JSON.parse(JSON.stringify(copy)) as IncidentsCopy;

describe('a copy of the incidents kept for a later start', () => {
  const current = () => ok(applyDelta(ok(applySnapshot(emptySync(), { lastChangeId: 10, incidents: [incident('a', 1), incident('b', 1)], feedId: 'F' })), delta(10, 12, [incident('c', 1)])));

  it('is what a current state holds, at its change id, with its feed', () => {
    const copy = copyOfSync(current())!;
    expect(copy.lastChangeId).toBe(12);
    expect(copy.feedId).toBe('F');
    expect(copy.incidents.map((i) => i.id).sort()).toEqual(['a', 'b', 'c']);
  });

  it('is not taken while an answer is awaited, nor before the first one', () => {
    expect(copyOfSync(emptySync())).toBeNull();
    expect(copyOfSync(awaitAnswer(current()))).toBeNull();
    // Deltas that arrive before the first snapshot are not incidents anyone holds yet.
    expect(copyOfSync(ok(applyDelta(emptySync(), delta(3, 4, [incident('a', 1)]))))).toBeNull();
  });

  it('from a server that does not resume, is kept (to show offline) but cannot be resumed', () => {
    const copy = copyOfSync(ok(applySnapshot(emptySync(), { lastChangeId: 10, incidents: [incident('a', 1)] })))!;
    expect(copy.feedId).toBeNull();
    expect(syncFromCopy(copy)).toEqual(emptySync());
    expect(resumePoint(syncFromCopy(copy))).toBeUndefined();
  });

  it('seeds a state that asks to resume from it and waits for the answer, as after a reconnect', () => {
    const seeded = syncFromCopy(stored(copyOfSync(current())!));
    expect(resumePoint(seeded)).toEqual({ after: 12, feedId: 'F' });
    expect(seeded.ready).toBe(false);
    // Subscribing keeps it (the state subscribes through awaitAnswer).
    expect(awaitAnswer(seeded)).toEqual(seeded);
    // A delta that overtakes the answer waits for it.
    const waiting = ok(applyDelta(seeded, delta(13, 14, [incident('d', 1)])));
    expect(waiting.early).toHaveLength(1);
    const resumed = ok(applyResume(waiting, catchUp(12, 13, [incident('a', 2, { summary: 'a2' }), incident('b', 2, { status: 'resolved' })])));
    expect(view(resumed)).toEqual({ a: 'a2', c: 'incident c v1', d: 'incident d v1' });
    expect(resumed.lastChangeId).toBe(14);
    expect(resumed.ready).toBe(true);
  });

  it('answered by a snapshot (the server refused the resume) is replaced by it, nothing of the copy kept', () => {
    const seeded = syncFromCopy(stored(copyOfSync(current())!));
    const replaced = ok(applySnapshot(seeded, { lastChangeId: 40, incidents: [incident('z', 1)], feedId: 'G' }));
    expect(view(replaced)).toEqual({ z: 'incident z v1' });
    expect(resumePoint(replaced)).toEqual({ after: 40, feedId: 'G' });
  });

  it('a catch-up for another feed is not applied to it', () => {
    const seeded = syncFromCopy(stored(copyOfSync(current())!));
    expect(applyResume(seeded, catchUp(12, 13, [incident('x', 1)], 'G')).resync).toBe(true);
  });

  it('property: kept at any change id, stored and read back, then resumed, a phone ends where a snapshot would put it', () => {
    const step = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e'), resolved: fc.boolean() });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), fc.nat(), fc.integer({ min: 1, max: 5 }), (steps, atKept, batch) => {
        const { changes, openAt } = testChangeLog(steps);
        const n = changes.length;
        // Live from a snapshot at 0, coalesced deltas of `batch` changes; the copy is kept after one of them.
        let live = ok(applySnapshot(emptySync(), { lastChangeId: 0, incidents: [], feedId: 'F' }));
        const deltas: IncidentDelta[] = [];
        for (let from = 0; from < n; from += batch) {
          const to = Math.min(n, from + batch);
          deltas.push({ prev: from, last: to, incidents: coalesceChanges(changes.slice(from, to)).map((c) => c.incident) });
        }
        const kept = atKept % (deltas.length + 1);
        for (const d of deltas.slice(0, kept)) live = ok(applyDelta(live, d));
        const copy = stored(copyOfSync(live)!);
        const L = copy.lastChangeId;
        // The phone starts again later: the server catches it up from the change log after L.
        const resumed = ok(applyResume(syncFromCopy(copy), catchUpOf(L, 'F', { oldest: 1, newest: n, changes: changes.slice(L) }, null)));
        expect(resumed.incidents).toEqual(openAt(n));
        expect(resumed.lastChangeId).toBe(n);
      }),
    );
  });
});
