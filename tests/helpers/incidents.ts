import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';
import type { IncidentChange } from '../../server/realtime/coalesce.ts';

/** An open warning incident of client acme as screens receive it; `over` changes what a test is about. */
export function testIncident(id: string, version: number, over: Partial<IncidentDto> = {}): IncidentDto {
  return {
    id,
    number: 1,
    status: 'triggered',
    severity: 'warning',
    summary: `incident ${id} v${version}`,
    client: 'acme',
    clientName: 'Acme',
    groupKey: `acme|${id}`,
    alertCount: 1,
    openAlertCount: 1,
    assigneeId: null,
    assigneeName: null,
    teamId: null,
    teamName: null,
    snoozedUntil: null,
    mergedIntoId: null,
    labels: {},
    nodes: [],
    createdAt: '2025-03-01T08:00:00.000Z',
    acknowledgedAt: null,
    resolvedAt: null,
    updatedAt: '2025-03-01T08:00:00.000Z',
    version,
    ...over,
  };
}

/**
 * A change log from `steps`: one change per step, ids 1…n, each incident's versions counting up; and the open
 * incidents as of any change id (what a snapshot taken then holds).
 */
export function testChangeLog(steps: { id: string; resolved: boolean }[]): { changes: IncidentChange[]; openAt: (id: number) => Map<string, IncidentDto> } {
  const versions = new Map<string, number>();
  const changes = steps.map((s, i): IncidentChange => {
    const version = (versions.get(s.id) ?? 0) + 1;
    versions.set(s.id, version);
    return { changeId: i + 1, incident: testIncident(s.id, version, { status: s.resolved ? 'resolved' : 'triggered' }) };
  });
  const openAt = (id: number) => {
    const open = new Map<string, IncidentDto>();
    for (const c of changes.slice(0, id)) {
      if (c.incident.status === 'resolved') open.delete(c.incident.id);
      else open.set(c.incident.id, c.incident);
    }
    return open;
  };
  return { changes, openAt };
}
