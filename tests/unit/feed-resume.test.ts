import { describe, expect, it } from 'vitest';
import { catchUpOf, feedIdOf, refuseResume, RESUME_CHANGES_MAX, type ChangeLogAfter } from '../../server/realtime/feed-resume.ts';
import { rooms } from '../../src/lib/protocol/events.ts';
import type { IncidentChange } from '../../server/realtime/coalesce.ts';
import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';
import { testIncident as incident } from '../helpers/incidents.ts';

const change = (changeId: number, dto: IncidentDto): IncidentChange => ({ changeId, incident: dto });
const log = (over: Partial<ChangeLogAfter> = {}): ChangeLogAfter => ({ oldest: 1, newest: 100, changes: [], ...over });

describe('which resume a server answers with a catch-up', () => {
  const acme = feedIdOf(rooms.feed('console', ['acme']));

  it('a feed id names exactly one room: the same clients in any order, another set or mode is another id', () => {
    expect(feedIdOf(rooms.feed('console', ['acme', 'globex']))).toBe(feedIdOf(rooms.feed('console', ['globex', 'acme'])));
    const others = [rooms.feed('console', ['acme', 'globex', 'initech']), rooms.feed('console', null), rooms.feed('screen', ['acme']), rooms.feed('console', [])];
    for (const room of others) expect(feedIdOf(room)).not.toBe(acme);
    expect(acme).toMatch(/^[\w-]{22}$/);
  });

  it('catches up a client whose incidents were built for this room, within the log, from an id it has reached', () => {
    expect(refuseResume({ after: 60, feedId: acme }, acme, log({ changes: [change(61, incident('a', 2))] }))).toBeNull();
    // Nothing changed since: a catch-up with nothing in it, still no snapshot.
    expect(refuseResume({ after: 100, feedId: acme }, acme, log())).toBeNull();
    // Its id is the oldest one's predecessor: every change after it is still there.
    expect(refuseResume({ after: 0, feedId: acme }, acme, log())).toBeNull();
    expect(refuseResume({ after: 0, feedId: acme }, acme, log({ oldest: null, newest: 0 }))).toBeNull();
  });

  it('another room (the user’s or wall’s clients changed, another mode): a snapshot, decided before reading the log', () => {
    const now = feedIdOf(rooms.feed('console', ['acme', 'globex']));
    expect(refuseResume({ after: 60, feedId: acme }, now, null)).toBe('other_feed');
    expect(refuseResume({ after: 60, feedId: acme }, now, log())).toBe('other_feed');
    expect(refuseResume({ after: 60, feedId: acme }, acme, null)).toBeNull();
  });

  it('an id beyond the newest change (another database, one restored from a backup): a snapshot', () => {
    expect(refuseResume({ after: 101, feedId: acme }, acme, log())).toBe('future');
    expect(refuseResume({ after: 1, feedId: acme }, acme, log({ oldest: null, newest: 0 }))).toBe('future');
  });

  it('changes after the id no longer in the log: a snapshot', () => {
    expect(refuseResume({ after: 49, feedId: acme }, acme, log({ oldest: 51 }))).toBe('pruned');
    expect(refuseResume({ after: 50, feedId: acme }, acme, log({ oldest: 51 }))).toBeNull();
  });

  it(`more than ${RESUME_CHANGES_MAX} changes since: a snapshot is cheaper`, () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => change(10 + i, incident(`i${i}`, 1)));
    expect(refuseResume({ after: 9, feedId: acme }, acme, log({ newest: 10_000, changes: many(RESUME_CHANGES_MAX) }))).toBeNull();
    expect(refuseResume({ after: 9, feedId: acme }, acme, log({ newest: 10_000, changes: many(RESUME_CHANGES_MAX + 1) }))).toBe('too_many');
    expect(refuseResume({ after: 9, feedId: acme }, acme, log({ changes: many(4) }), 3)).toBe('too_many');
  });
});

describe('the catch-up', () => {
  const changes = [
    change(11, incident('a', 2, { summary: 'a acknowledged' })),
    change(12, incident('g', 1, { client: 'globex' })),
    change(13, incident('a', 3, { status: 'resolved' })),
    change(14, incident('b', 1)),
    change(15, incident('n', 1, { client: null })),
    change(16, incident('b', 2, { summary: 'b renamed' })),
  ];

  it('holds the latest state of each incident in scope, in change order, resolved ones included, up to the newest id', () => {
    const catchUp = catchUpOf(10, 'feed', log({ newest: 20, changes }), ['acme']);
    expect(catchUp).toEqual({ prev: 10, last: 20, feedId: 'feed', incidents: [incident('a', 3, { status: 'resolved' }), incident('b', 2, { summary: 'b renamed' })] });
  });

  it('never carries another client’s incident, nor one without a client, to a room scoped to some clients', () => {
    expect(catchUpOf(10, 'feed', log({ newest: 16, changes }), ['globex']).incidents.map((i) => i.id)).toEqual(['g']);
    expect(catchUpOf(10, 'feed', log({ newest: 16, changes }), []).incidents).toEqual([]);
    // A room of every client has them all, those without a client too.
    expect(catchUpOf(10, 'feed', log({ newest: 16, changes }), null).incidents.map((i) => i.id)).toEqual(['g', 'a', 'n', 'b']);
  });

  it('with nothing changed in scope it still brings the client to the newest id', () => {
    expect(catchUpOf(10, 'feed', log({ newest: 16, changes }), ['initech'])).toEqual({ prev: 10, last: 16, feedId: 'feed', incidents: [] });
    expect(catchUpOf(16, 'feed', log({ newest: 16 }), null)).toEqual({ prev: 16, last: 16, feedId: 'feed', incidents: [] });
  });
});
