import { describe, expect, it } from 'vitest';
import {
  decodeCatchUp,
  decodeDelta,
  decodeSnapshot,
  encodeCatchUp,
  encodeDelta,
  encodeSnapshot,
  incidentFromRow,
  incidentToRow,
  patchOf,
  type IncidentDto,
  type IncidentUpdate,
  type PatchedField,
} from '../../src/lib/protocol/incidents.ts';

/** Every field holds a value no other field holds, so a row that puts one in another's place cannot round-trip. */
const incident: IncidentDto = {
  id: 'id-1', number: 2, status: 'acknowledged', severity: 'high', summary: 'summary-3', client: 'client-4', clientName: 'client-name-5',
  groupKey: 'group-6', alertCount: 7, openAlertCount: 8, assigneeId: 'assignee-9', assigneeName: 'assignee-name-10', teamId: 'team-11',
  teamName: 'team-name-12', snoozedUntil: '2026-01-01T00:00:13.000Z', mergedIntoId: 'merged-14', labels: { label: '15' }, nodes: ['node-16'],
  createdAt: '2026-01-01T00:00:17.000Z', acknowledgedAt: '2026-01-01T00:00:18.000Z', resolvedAt: '2026-01-01T00:00:19.000Z',
  updatedAt: '2026-01-01T00:00:20.000Z', version: 21,
};

describe('snapshot rows', () => {
  it('carry every field of an incident, each in its own place', () => {
    const row = incidentToRow(incident);
    expect(row).toHaveLength(Object.keys(incident).length);
    expect(new Set(row.map((value) => JSON.stringify(value))).size).toBe(row.length);
    expect(incidentFromRow(row)).toEqual(incident);
  });

  it('survive the wire (JSON) and keep the snapshot order and change id', () => {
    const other = { ...incident, id: 'id-other', number: 99, client: null, labels: {}, nodes: [] };
    const frame = JSON.parse(JSON.stringify(encodeSnapshot({ lastChangeId: 42, incidents: [incident, other] })));
    expect(decodeSnapshot(frame)).toEqual({ lastChangeId: 42, incidents: [incident, other] });
  });

  it('drop the field names: a 10,000-incident snapshot is far smaller', () => {
    const many = Array.from({ length: 100 }, (_, n) => ({ ...incident, id: `id-${n}`, number: n }));
    const asObjects = JSON.stringify({ lastChangeId: 1, incidents: many }).length;
    const asRows = JSON.stringify(encodeSnapshot({ lastChangeId: 1, incidents: many })).length;
    expect(asRows).toBeLessThan(asObjects * 0.7);
  });
});

/** The fields a patch may carry, with a value for each that differs from {@link incident}'s (null where it may be). */
const changed: Record<PatchedField, unknown> = {
  severity: 'critical', summary: 'summary-new', clientName: null, groupKey: 'group-new', alertCount: 70, openAlertCount: 0,
  assigneeId: null, assigneeName: null, teamId: 'team-new', teamName: 'team-name-new', snoozedUntil: null, mergedIntoId: null,
  labels: { label: 'new', other: 'x' }, createdAt: '2026-01-02T00:00:00.000Z', acknowledgedAt: null, resolvedAt: null, updatedAt: '2026-01-02T00:00:01.000Z',
};
const fields = Object.keys(changed) as PatchedField[];

/** A patch on {@link incident} changing `which`, its node list moved as `nodes` says. */
function patch(which: PatchedField[], nodes: 'same' | 'grown' | 'rewritten' | 'first'): IncidentUpdate {
  const base = nodes === 'first' ? { ...incident, nodes: [] } : incident;
  const after: IncidentDto = { ...base, ...(Object.fromEntries(which.map((f) => [f, changed[f]])) as Partial<IncidentDto>), version: 30, status: 'triggered' };
  if (nodes === 'grown' || nodes === 'first') after.nodes = [...base.nodes, 'node-new-1', 'node-new-2'];
  if (nodes === 'rewritten') after.nodes = ['node-other'];
  return patchOf(after, base, which, nodes === 'first' ? 'grown' : nodes);
}

/** Through the wire and back: encoded, sent as JSON, decoded. */
const overTheWire = (incidents: IncidentUpdate[]) => decodeDelta(JSON.parse(JSON.stringify(encodeDelta({ prev: 5, last: 9, incidents }))));

describe('delta rows', () => {
  it('carry a whole incident as its snapshot row', () => {
    expect(encodeDelta({ prev: 1, last: 2, incidents: [incident] }).rows).toEqual([incidentToRow(incident)]);
    expect(overTheWire([incident])).toEqual({ prev: 5, last: 9, incidents: [incident] });
  });

  it('carry each field a patch names, nulls included, and only those', () => {
    for (const field of fields) {
      const update = patch([field], 'same');
      expect(Object.keys(update)).toContain(field);
      expect(overTheWire([update]).incidents).toEqual([update]);
    }
    expect(overTheWire([patch(fields, 'same')]).incidents).toEqual([patch(fields, 'same')]);
    expect(overTheWire([patch([], 'same')]).incidents).toEqual([patch([], 'same')]);
  });

  it('carry a node list continued (nodesFrom), whole (a first list, a rewritten one) or not at all', () => {
    const grown = patch(['alertCount'], 'grown');
    expect(grown).toMatchObject({ nodesFrom: 1, nodes: ['node-new-1', 'node-new-2'] });
    const first = patch(['alertCount'], 'first');
    expect(first.nodesFrom).toBeUndefined();
    const rewritten = patch([], 'rewritten');
    expect(rewritten).toMatchObject({ nodes: ['node-other'] });
    for (const update of [grown, first, rewritten, patch(['openAlertCount'], 'same')]) expect(overTheWire([update]).incidents).toEqual([update]);
  });

  it('keep any mix of fields, in order, beside whole incidents; a catch-up keeps its feed', () => {
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const moves = ['same', 'grown', 'rewritten', 'first'] as const;
    const updates = Array.from({ length: 300 }, (_, n) =>
      n % 10 === 0 ? { ...incident, id: `whole-${n}` } : { ...patch(fields.filter(() => random() < 0.3), moves[Math.floor(random() * 4)]), id: `patch-${n}` },
    );
    expect(overTheWire(updates).incidents).toEqual(updates);
    const catchUp = { prev: 3, last: 4, incidents: updates, feedId: 'feed-1' };
    expect(decodeCatchUp(JSON.parse(JSON.stringify(encodeCatchUp(catchUp))))).toEqual(catchUp);
  });

  it("drop the field names: a storm's typical patch (counts, a time, a node) is far smaller", () => {
    const typical = patch(['alertCount', 'openAlertCount', 'updatedAt'], 'grown');
    const asObject = JSON.stringify(typical).length;
    const asRow = JSON.stringify(encodeDelta({ prev: 1, last: 2, incidents: [typical] }).rows[0]).length;
    expect(asRow).toBeLessThan(asObject * 0.7);
  });
});
