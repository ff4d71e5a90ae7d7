import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { coalesceChanges, type IncidentChange } from '../../server/realtime/coalesce.ts';
import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';
import { testIncident as incident } from '../helpers/incidents.ts';

const change = (changeId: number, id: string, version = changeId, over: Partial<IncidentDto> = {}): IncidentChange => ({
  changeId,
  incident: incident(id, version, over),
});

describe('coalesceChanges', () => {
  it('returns nothing for nothing', () => {
    expect(coalesceChanges([])).toEqual([]);
  });

  it('keeps one entry per incident: the latest state wins', () => {
    const out = coalesceChanges([change(1, 'a'), change(2, 'b'), change(3, 'a'), change(4, 'a', 4, { status: 'resolved' })]);
    expect(out.map((c) => [c.incident.id, c.changeId])).toEqual([
      ['b', 2],
      ['a', 4],
    ]);
    expect(out[1].incident.status).toBe('resolved');
  });

  it('orders entries by the change id of their latest state', () => {
    const out = coalesceChanges([change(5, 'a'), change(6, 'b'), change(7, 'c'), change(8, 'a')]);
    expect(out.map((c) => c.incident.id)).toEqual(['b', 'c', 'a']);
  });

  it('an older change arriving after a newer one for the same incident does not win', () => {
    const out = coalesceChanges([change(9, 'a', 9), change(3, 'a', 3)]);
    expect(out).toEqual([change(9, 'a', 9)]);
  });

  it('does not mutate its input', () => {
    const input = [change(2, 'a'), change(1, 'b'), change(3, 'a')];
    const copy = structuredClone(input);
    coalesceChanges(input);
    expect(input).toEqual(copy);
  });

  it('property: one entry per incident, each its highest change id, sorted ascending', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 10_000 }), { maxLength: 200 }).chain((ids) =>
          fc.tuple(fc.constant(ids), fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: ids.length, maxLength: ids.length })),
        ),
        ([ids, incidents]) => {
          const input = ids.map((id, i) => change(id, incidents[i]));
          const out = coalesceChanges(input);
          const expected = new Map<string, number>();
          for (const c of input) expected.set(c.incident.id, Math.max(expected.get(c.incident.id) ?? 0, c.changeId));
          expect(out.length).toBe(expected.size);
          for (const c of out) expect(c.changeId).toBe(expected.get(c.incident.id));
          for (let i = 1; i < out.length; i++) expect(out[i].changeId).toBeGreaterThan(out[i - 1].changeId);
        },
      ),
    );
  });
});
