import { describe, expect, it } from 'vitest';
import { onlySeenAgain } from '../../server/db/incident-store.ts';
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

describe('onlySeenAgain: which alert writes may take the narrow update', () => {
  const seen = { ...stored, labels: { alertname: 'DiskFull', instance: 'node-1' }, lastSeenAt: new Date('2026-11-20T10:05:00Z'), count: 2 };

  it('a repeat that only moves lastSeenAt and count, whatever the key order of its labels', () => {
    expect(onlySeenAgain(stored, seen)).toBe(true);
  });

  it('anything a person would notice takes the full write', () => {
    expect(onlySeenAgain(undefined, seen)).toBe(false);
    expect(onlySeenAgain(stored, { ...seen, status: 'resolved', resolvedAt: new Date() })).toBe(false);
    expect(onlySeenAgain(stored, { ...seen, severity: 'critical' })).toBe(false);
    expect(onlySeenAgain(stored, { ...seen, labels: { ...seen.labels, team: 'core' } })).toBe(false);
    expect(onlySeenAgain(stored, { ...seen, annotations: { summary: 'Disk 99% full' } })).toBe(false);
    expect(onlySeenAgain(stored, { ...seen, incidentId: 'i2' })).toBe(false);
  });
});
