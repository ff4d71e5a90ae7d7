import { describe, expect, it } from 'vitest';
import { onlyStateMoved } from '../../server/db/incident-store.ts';
import type { AlertRecord } from '../../server/engine/types.ts';

const stored: AlertRecord = {
  id: 'a1',
  sourceId: 's1',
  fingerprint: 'fp',
  incidentId: 'i1',
  status: 'firing',
  severity: 'warning',
  summary: 'Disk full',
  // jsonb hands keys back in its own order
  labels: { instance: 'node-1', alertname: 'DiskFull' },
  annotations: { summary: 'Disk full' },
  links: [],
  client: 'acme',
  node: 'node-1',
  startsAt: new Date('2026-11-20T10:00:00Z'),
  endsAt: null,
  firstSeenAt: new Date('2026-11-20T10:00:00Z'),
  lastSeenAt: new Date('2026-11-20T10:00:00Z'),
  resolvedAt: null,
  count: 1,
};

describe('onlyStateMoved: which alert writes may take the narrow update', () => {
  const seen = { ...stored, labels: { alertname: 'DiskFull', instance: 'node-1' }, lastSeenAt: new Date('2026-11-20T10:05:00Z'), count: 2 };

  it('a repeat that only moves lastSeenAt and count, whatever the key order of its labels', () => {
    expect(onlyStateMoved(stored, seen)).toBe(true);
  });

  it('a resolution: status, resolvedAt, endsAt and lastSeenAt move, nothing the alert says', () => {
    const at = new Date('2026-11-20T10:07:00Z');
    expect(onlyStateMoved(stored, { ...stored, status: 'resolved', resolvedAt: at, endsAt: at, lastSeenAt: at })).toBe(true);
  });

  it('anything else takes the full write: new, refired, or anything the alert says changed', () => {
    expect(onlyStateMoved(undefined, seen)).toBe(false);
    expect(onlyStateMoved(stored, { ...seen, startsAt: new Date('2026-11-20T11:00:00Z') })).toBe(false);
    expect(onlyStateMoved(stored, { ...seen, severity: 'critical' })).toBe(false);
    expect(onlyStateMoved(stored, { ...seen, summary: 'Disk very full' })).toBe(false);
    expect(onlyStateMoved(stored, { ...seen, node: 'node-2' })).toBe(false);
    expect(onlyStateMoved(stored, { ...seen, labels: { ...seen.labels, team: 'core' } })).toBe(false);
    expect(onlyStateMoved(stored, { ...seen, annotations: { summary: 'Disk 99% full' } })).toBe(false);
    expect(onlyStateMoved(stored, { ...seen, links: [{ href: 'https://runbook.example', text: 'runbook' }] })).toBe(false);
    expect(onlyStateMoved(stored, { ...seen, incidentId: 'i2' })).toBe(false);
  });
});
