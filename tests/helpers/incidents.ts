import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';

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
