import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyDelta, applyResume, applySnapshot, awaitAnswer, emptySync, resumePoint, type SyncResult, type SyncState } from '../../src/lib/realtime/incident-sync.ts';
import type { IncidentCatchUp, IncidentDelta, IncidentDto, IncidentUpdate } from '../../src/lib/protocol/incidents.ts';
import { testChangeLog, testIncident as incident } from '../helpers/incidents.ts';
import { catchUpOf } from '../../server/realtime/feed-resume.ts';
import { coalesceChanges, deltaOf, type FeedChange } from '../../server/realtime/coalesce.ts';
import { PublishedIncidents } from '../../server/realtime/published-incidents.ts';
import { mergeContiguousDeltas } from '../../src/lib/console/delta-batch.ts';

const delta = (prev: number, last: number, incidents: IncidentUpdate[]): IncidentDelta => ({ prev, last, incidents });

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

describe('patches in deltas: only what changed', () => {
  const a1 = incident('a', 1, { nodes: ['n1', 'n2'], labels: { alertname: 'Down' } });

  it('a patch is laid on the incident held; a continued node list is joined to the one held; a whole update replaces it', () => {
    let state = ok(applySnapshot(emptySync(), { lastChangeId: 5, incidents: [a1] }));
    const patch: IncidentUpdate = { id: 'a', number: 1, client: 'acme', status: 'triggered', version: 2, from: 1, alertCount: 2, nodes: ['n3'], nodesFrom: 2 };
    state = ok(applyDelta(state, delta(5, 6, [patch, incident('b', 1, { nodes: ['m1'] })])));
    expect(state.incidents.get('a')).toEqual({ ...a1, version: 2, alertCount: 2, nodes: ['n1', 'n2', 'n3'] });
    expect(state.incidents.get('b')?.nodes).toEqual(['m1']);
    state = ok(applyDelta(state, delta(6, 7, [{ id: 'a', number: 1, client: 'acme', status: 'acknowledged', version: 3, from: 2, assigneeName: 'Ana' }])));
    expect(state.incidents.get('a')).toEqual({ ...a1, version: 3, alertCount: 2, nodes: ['n1', 'n2', 'n3'], status: 'acknowledged', assigneeName: 'Ana' });
  });

  it('a patch on a version the client does not hold, or nodes it lacks, asks for a resync and leaves the state alone', () => {
    const state = ok(applySnapshot(emptySync(), { lastChangeId: 5, incidents: [a1] }));
    const patches: IncidentUpdate[] = [
      { id: 'a', number: 1, client: 'acme', status: 'triggered', version: 3, from: 2, alertCount: 3 }, // held at 1: missed version 2
      { id: 'b', number: 2, client: 'acme', status: 'triggered', version: 2, from: 1, alertCount: 2 }, // not held
      { id: 'a', number: 1, client: 'acme', status: 'triggered', version: 2, from: 1, nodes: ['n4'], nodesFrom: 3 },
    ];
    for (const update of patches) {
      const result = applyDelta(state, delta(5, 6, [update]));
      expect(result.resync).toBe(true);
      expect(result.state).toBe(state);
    }
    // A resolution removes what it names; one the client does not hold is ignored, as before.
    expect(ok(applyDelta(state, delta(5, 6, [{ id: 'b', number: 2, client: 'acme', status: 'resolved', version: 2, from: 1 }]))).incidents.size).toBe(1);
    expect(ok(applyDelta(state, delta(5, 6, [{ id: 'a', number: 1, client: 'acme', status: 'resolved', version: 2, from: 1 }]))).incidents.size).toBe(0);
  });

  it('the server patches each incident from the state its screens held before the window, naming every field any change touched', () => {
    const a2 = { ...a1, version: 2, assigneeId: 'u1', assigneeName: 'Ana', nodes: ['n1', 'n2', 'n3'] };
    const a3 = { ...a2, version: 3, assigneeId: null, assigneeName: null, alertCount: 2 }; // assigned and back
    const b1 = incident('b', 1);
    const published = new PublishedIncidents();
    const changes: FeedChange[] = [a1, a2, b1, a3].map((i, n) => ({ changeId: 7 + n, incident: i, before: published.next(i) }));
    expect(deltaOf(7, changes.slice(1))).toEqual({
      prev: 7,
      last: 10,
      incidents: [b1, { id: 'a', number: 1, client: 'acme', status: 'triggered', version: 3, from: 1, assigneeId: null, assigneeName: null, alertCount: 2, nodes: ['n3'], nodesFrom: 2 }],
    });
    // First seen: whole. Resolved, then seen again: whole, screens dropped it.
    expect(deltaOf(6, changes.slice(0, 1)).incidents).toEqual([a1]);
    const resolved = { ...a3, version: 4, status: 'resolved' as const };
    const reopened = { ...resolved, version: 5, status: 'triggered' as const };
    expect(published.next(resolved)).toBe(a3);
    expect(published.next(reopened)).toBeUndefined();
    // A node list that does not continue the one held goes whole, as a field.
    const rewritten = { ...reopened, version: 6, nodes: ['x'] };
    expect(deltaOf(11, [{ changeId: 12, incident: rewritten, before: published.next(rewritten) }]).incidents).toEqual([
      { id: 'a', number: 1, client: 'acme', status: 'triggered', version: 6, from: 5, nodes: ['x'] },
    ]);
  });

  it('property: whatever the history (nodes joining, fields changing and changing back, resolutions, reopenings), the windows deltas coalesce, the change id a client’s snapshot was taken at and how it batches deltas, the client ends with the server’s open incidents', () => {
    const step = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd'),
      action: fc.constantFrom('grow', 'grow', 'ack', 'unack', 'assign', 'unassign', 'severity', 'rewrite', 'resolve'),
      gained: fc.nat({ max: 2 }),
    });
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 40, maxLength: 40 }),
        fc.nat(),
        fc.boolean(),
        (history, windows, joinAt, merged) => {
          const server = new Map<string, IncidentDto>();
          const versions = new Map<string, number>();
          const published = new PublishedIncidents();
          const opened: Map<string, IncidentDto>[] = [new Map()]; // the open incidents after each change id
          const changes: FeedChange[] = [];
          let nodeSeq = 0;
          for (const [i, s] of history.entries()) {
            const version = (versions.get(s.id) ?? 0) + 1;
            versions.set(s.id, version);
            const before = server.get(s.id) ?? incident(s.id, 0, { status: 'resolved' });
            const open = before.status !== 'resolved';
            let dto: IncidentDto = { ...before, version, status: open ? before.status : 'triggered', updatedAt: `t${i}` };
            if (s.action === 'grow') dto.nodes = [...before.nodes, ...Array.from({ length: s.gained }, () => `n${nodeSeq++}`)];
            if (s.action === 'rewrite') dto.nodes = [`r${nodeSeq++}`];
            if (s.action === 'ack' && open) dto = { ...dto, status: 'acknowledged', acknowledgedAt: `t${i}` };
            if (s.action === 'unack' && open) dto = { ...dto, status: 'triggered', acknowledgedAt: null };
            if (s.action === 'assign') dto = { ...dto, assigneeId: 'u1', assigneeName: 'Ana' };
            if (s.action === 'unassign') dto = { ...dto, assigneeId: null, assigneeName: null };
            if (s.action === 'severity') dto = { ...dto, severity: before.severity === 'warning' ? 'critical' : 'warning' };
            if (s.action === 'resolve') dto = { ...dto, status: 'resolved', resolvedAt: `t${i}` };
            server.set(s.id, dto);
            changes.push({ changeId: i + 1, incident: dto, before: published.next(dto) });
            opened.push(new Map([...server].filter(([, x]) => x.status !== 'resolved')));
          }
          const deltas: IncidentDelta[] = [];
          for (let at = 0, w = 0; at < changes.length; at += windows[w++ % windows.length]) {
            deltas.push(deltaOf(at, changes.slice(at, at + windows[w % windows.length])));
          }
          // A client whose snapshot was taken at any change id, getting every delta that reaches past it (the console
          // joins those that arrive together into one).
          const snapshotAt = joinAt % (changes.length + 1);
          let state = ok(applySnapshot(emptySync(), { lastChangeId: snapshotAt, incidents: [...opened[snapshotAt].values()] }));
          const reaching = deltas.filter((d) => d.last > snapshotAt);
          for (const d of merged ? mergeContiguousDeltas(reaching) : reaching) state = ok(applyDelta(state, d));
          expect(state.incidents).toEqual(opened[changes.length]);
        },
      ),
    );
  });
});

describe('resuming from the change id a client holds', () => {
  const catchUp = (prev: number, last: number, incidents: IncidentDto[], feedId = 'F'): IncidentCatchUp => ({ prev, last, incidents, feedId });
  const held = () => ok(applySnapshot(emptySync(), { lastChangeId: 10, incidents: [incident('a', 1), incident('b', 1)], feedId: 'F' }));

  it('only a state built from a snapshot that named its feed can be resumed, from the id it holds', () => {
    expect(resumePoint(emptySync())).toBeUndefined();
    expect(resumePoint(ok(applySnapshot(emptySync(), { lastChangeId: 10, incidents: [] })))).toBeUndefined(); // a server that cannot resume
    let state = held();
    expect(resumePoint(state)).toEqual({ after: 10, feedId: 'F' });
    state = ok(applyDelta(state, delta(10, 12, [incident('c', 1)])));
    expect(resumePoint(state)).toEqual({ after: 12, feedId: 'F' });
  });

  it('while the answer is on its way the incidents are kept, and deltas wait; a state with nothing to resume starts empty', () => {
    const waiting = awaitAnswer(held());
    expect(waiting.ready).toBe(false);
    expect(view(waiting)).toEqual({ a: 'incident a v1', b: 'incident b v1' });
    expect(resumePoint(waiting)).toEqual({ after: 10, feedId: 'F' });
    const later = ok(applyDelta(waiting, delta(10, 11, [incident('a', 2)])));
    expect(later.early).toHaveLength(1);
    expect(later.lastChangeId).toBe(10);
    expect(awaitAnswer(ok(applySnapshot(emptySync(), { lastChangeId: 10, incidents: [incident('a', 1)] })))).toEqual(emptySync());
  });

  it('a catch-up updates, adds and removes (resolved, merged) on top of what is held, then the deltas that came meanwhile', () => {
    let state = awaitAnswer(held());
    state = ok(applyDelta(state, delta(11, 13, [incident('a', 2, { summary: 'a2 again' })]))); // covered by the catch-up
    state = ok(applyDelta(state, delta(13, 15, [incident('c', 2, { summary: 'c2' }), incident('d', 1)]))); // reaches past it
    state = ok(applyResume(state, catchUp(10, 14, [incident('a', 2, { summary: 'a2' }), incident('b', 2, { status: 'resolved', mergedIntoId: 'a' }), incident('c', 1)])));
    expect(state.ready).toBe(true);
    expect(view(state)).toEqual({ a: 'a2', c: 'c2', d: 'incident d v1' });
    expect(state.lastChangeId).toBe(15);
    expect(state.feedId).toBe('F');
    expect(state.early).toEqual([]);
  });

  it('nothing changed: ready again at the same id, with the same incidents', () => {
    const state = ok(applyResume(awaitAnswer(held()), catchUp(10, 10, [])));
    expect(state.ready).toBe(true);
    expect(state.lastChangeId).toBe(10);
    expect(view(state)).toEqual({ a: 'incident a v1', b: 'incident b v1' });
  });

  it('a catch-up from above what is held, for another feed, or with nothing held, asks for a resync', () => {
    expect(applyResume(awaitAnswer(held()), catchUp(11, 14, [])).resync).toBe(true);
    expect(applyResume(awaitAnswer(held()), catchUp(10, 14, [], 'G')).resync).toBe(true);
    expect(applyResume(emptySync(), catchUp(0, 14, [])).resync).toBe(true);
    // A delta that came meanwhile and leaves a gap after the catch-up: resync too.
    const gap = ok(applyDelta(awaitAnswer(held()), delta(16, 17, [incident('e', 1)])));
    expect(applyResume(gap, catchUp(10, 14, [])).resync).toBe(true);
  });

  it('a catch-up from below what is held (a resume asked with an older id) applies as a delta does', () => {
    let state = ok(applyDelta(held(), delta(10, 12, [incident('a', 2, { summary: 'a2' })])));
    state = ok(applyResume(awaitAnswer(state), catchUp(10, 13, [incident('a', 2, { summary: 'a2' }), incident('c', 1)])));
    expect(view(state)).toEqual({ a: 'a2', b: 'incident b v1', c: 'incident c v1' });
    expect(state.lastChangeId).toBe(13);
  });

  it('property: resumed from any id, with the room’s deltas arriving before and after the catch-up in any way, a client ends where a snapshot would put it', () => {
    const step = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e'), resolved: fc.boolean() });
    const picks = fc.record({ atL: fc.nat(), atX: fc.nat(), atStart: fc.nat(), batch: fc.integer({ min: 1, max: 5 }), atCatchUp: fc.nat() });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), picks, (steps, { atL, atX, atStart, batch, atCatchUp }) => {
        const { changes, openAt } = testChangeLog(steps);
        const n = changes.length;
        // The client holds the state at L; the catch-up reads (L, X].
        const L = atL % (n + 1);
        const X = L + (atX % (n - L + 1));
        const up = catchUpOf(L, 'F', { oldest: 1, newest: X, changes: changes.slice(L, X) }, null);
        // The room's chain stood at S (at or below X: all it sent was committed before the read) when the socket
        // joined; its deltas go on from there to n, and the catch-up arrives among them anywhere.
        const S = atStart % (X + 1);
        const deltas: IncidentDelta[] = [];
        for (let from = S; from < n; from += batch) {
          const to = Math.min(n, from + batch);
          deltas.push({ prev: from, last: to, incidents: coalesceChanges(changes.slice(from, to)).map((c) => c.incident) });
        }
        const k = atCatchUp % (deltas.length + 1);
        let state = awaitAnswer(ok(applySnapshot(emptySync(), { lastChangeId: L, incidents: [...openAt(L).values()], feedId: 'F' })));
        for (const d of deltas.slice(0, k)) state = ok(applyDelta(state, d));
        state = ok(applyResume(state, up));
        for (const d of deltas.slice(k)) state = ok(applyDelta(state, d));
        expect(state.incidents).toEqual(openAt(n));
        expect(state.lastChangeId).toBe(Math.max(n, X));
      }),
    );
  });
});
