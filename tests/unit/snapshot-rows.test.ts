import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot, incidentFromRow, incidentToRow, type IncidentDto } from '../../src/lib/protocol/incidents.ts';

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
