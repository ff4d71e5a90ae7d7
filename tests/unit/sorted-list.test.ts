import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applySorted, indexOfSorted, lowerBound } from '../../src/lib/console/sorted-list.ts';
import { mergeContiguousDeltas } from '../../src/lib/console/delta-batch.ts';
import { applyDelta, applySnapshot, emptySync } from '../../src/lib/realtime/incident-sync.ts';
import type { IncidentDelta, IncidentDto } from '../../src/lib/protocol/incidents.ts';

interface Item {
  id: number;
  rank: number;
}
const compare = (a: Item, b: Item) => a.rank - b.rank || a.id - b.id;

describe('applySorted: the queue stays sorted under live changes', () => {
  it('finds the insertion point and an element by identity', () => {
    const list = [1, 3, 3, 5].map((rank, id) => ({ id, rank }));
    expect(lowerBound(list, { id: 9, rank: 3 }, compare)).toBe(3);
    expect(indexOfSorted(list, list[2], compare)).toBe(2);
    expect(indexOfSorted(list, { id: 2, rank: 3 }, compare)).toBe(-1);
  });

  it('equals a full sort after any removals, insertions and moves', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }),
        fc.array(fc.tuple(fc.nat(), fc.option(fc.integer({ min: 0, max: 20 }))), { maxLength: 100 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 20 }),
        (ranks, edits, additions) => {
          const list = ranks.map((rank, id) => ({ id, rank })).sort(compare);
          const seen = new Set<number>();
          const changes = edits.flatMap(([at, rank]) => {
            if (list.length === 0) return [];
            const before = list[at % list.length];
            if (seen.has(before.id)) return [];
            seen.add(before.id);
            return [{ before, after: rank === null ? undefined : { id: before.id, rank } }];
          });
          const added = additions.map((rank, i) => ({ after: { id: 1000 + i, rank } }));
          const next = applySorted(list, [...changes, ...added], compare);
          const expected = [
            ...list.filter((item) => !seen.has(item.id)),
            ...changes.flatMap((c) => (c.after ? [c.after] : [])),
            ...added.map((a) => a.after),
          ].sort(compare);
          expect(next).toEqual(expected);
          // The list it started from is left as it was (the state holds it as $state.raw).
          expect(list).toEqual(ranks.map((rank, id) => ({ id, rank })).sort(compare));
        },
      ),
    );
  });
});

describe('mergeContiguousDeltas: one render per frame, same result', () => {
  const incident = (id: string, version: number, status: IncidentDto['status'] = 'triggered') =>
    ({ id, version, status }) as IncidentDto;
  const delta = (prev: number, last: number, incidents: IncidentDto[]): IncidentDelta => ({ prev, last, incidents });

  it('joins a chain and keeps a gap visible', () => {
    const merged = mergeContiguousDeltas([
      delta(1, 2, [incident('a', 1)]),
      delta(2, 4, [incident('a', 2)]),
      delta(6, 7, [incident('b', 1)]),
    ]);
    expect(merged.map((d) => [d.prev, d.last, d.incidents.length])).toEqual([
      [1, 4, 2],
      [6, 7, 1],
    ]);
  });

  it('applying the merged chain gives the same state as one by one', () => {
    const base = applySnapshot(emptySync(), { lastChangeId: 1, incidents: [incident('a', 1), incident('b', 1)] }).state;
    const chain = [
      delta(1, 2, [incident('a', 2, 'acknowledged')]),
      delta(2, 3, [incident('b', 2, 'resolved'), incident('c', 1)]),
      delta(3, 5, [incident('a', 3), incident('c', 2, 'acknowledged')]),
    ];
    let oneByOne = base;
    for (const d of chain) oneByOne = applyDelta(oneByOne, d).state;
    let merged = base;
    for (const d of mergeContiguousDeltas(chain)) merged = applyDelta(merged, d).state;
    expect(merged.lastChangeId).toBe(oneByOne.lastChangeId);
    expect([...merged.incidents.entries()]).toEqual([...oneByOne.incidents.entries()]);
  });
});
