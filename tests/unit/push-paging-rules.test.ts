import { describe, expect, it } from 'vitest';
import { inQuietHours } from '../../server/push/quiet-hours.ts';
import { formatAge, pageText, selectRecipients, type Recipient } from '../../server/push/pager.ts';
import { checkPushEndpoint } from '../../server/push/endpoint-policy.ts';
import { pushSettingsRequest, pushSubscriptionRequest } from '../../src/lib/protocol/push.ts';
import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';

const at = (iso: string) => new Date(iso);

describe('quiet hours', () => {
  it('covers a range inside one day, start included and end excluded', () => {
    const quiet = { start: '12:00', end: '13:30' };
    expect(inQuietHours(at('2026-06-01T11:59:00Z'), quiet, 'UTC')).toBe(false);
    expect(inQuietHours(at('2026-06-01T12:00:00Z'), quiet, 'UTC')).toBe(true);
    expect(inQuietHours(at('2026-06-01T13:29:00Z'), quiet, 'UTC')).toBe(true);
    expect(inQuietHours(at('2026-06-01T13:30:00Z'), quiet, 'UTC')).toBe(false);
  });

  it('crosses midnight', () => {
    const night = { start: '22:00', end: '07:00' };
    expect(inQuietHours(at('2026-06-01T23:15:00Z'), night, 'UTC')).toBe(true);
    expect(inQuietHours(at('2026-06-01T03:00:00Z'), night, 'UTC')).toBe(true);
    expect(inQuietHours(at('2026-06-01T07:00:00Z'), night, 'UTC')).toBe(false);
    expect(inQuietHours(at('2026-06-01T12:00:00Z'), night, 'UTC')).toBe(false);
  });

  it('reads the clock of the person’s time zone, daylight saving included', () => {
    const night = { start: '22:00', end: '07:00' };
    // 21:30 UTC is 23:30 in Berlin in summer (UTC+2) and 22:30 in winter (UTC+1): quiet both times.
    expect(inQuietHours(at('2026-07-01T21:30:00Z'), night, 'Europe/Berlin')).toBe(true);
    expect(inQuietHours(at('2026-01-15T21:30:00Z'), night, 'Europe/Berlin')).toBe(true);
    // 20:30 UTC: 22:30 in summer (quiet), 21:30 in winter (not).
    expect(inQuietHours(at('2026-07-01T20:30:00Z'), night, 'Europe/Berlin')).toBe(true);
    expect(inQuietHours(at('2026-01-15T20:30:00Z'), night, 'Europe/Berlin')).toBe(false);
    expect(inQuietHours(at('2026-01-15T20:30:00Z'), null, 'Europe/Berlin')).toBe(false);
  });
});

describe('who is paged', () => {
  const base: Recipient = { id: 'u', name: 'U', role: 'engineer', clients: null, minSeverity: 'high', quietStart: null, quietEnd: null, timezone: 'UTC' };
  const noon = at('2026-06-01T12:00:00Z');
  const ids = (incident: Pick<IncidentDto, 'client' | 'severity'>, people: Recipient[]) => selectRecipients(incident, people, noon).map((p) => p.id);

  it('pages at or above each person’s threshold', () => {
    const people = [{ ...base, id: 'crit', minSeverity: 'critical' as const }, { ...base, id: 'high' }, { ...base, id: 'all', minSeverity: 'info' as const }];
    expect(ids({ client: 'acme', severity: 'critical' }, people)).toEqual(['crit', 'high', 'all']);
    expect(ids({ client: 'acme', severity: 'high' }, people)).toEqual(['high', 'all']);
    expect(ids({ client: 'acme', severity: 'warning' }, people)).toEqual(['all']);
  });

  it('pages only people who may see the client; incidents without a client only unrestricted people', () => {
    const people = [{ ...base, id: 'all' }, { ...base, id: 'acme', clients: ['acme'] }, { ...base, id: 'none', clients: [] }];
    expect(ids({ client: 'acme', severity: 'critical' }, people)).toEqual(['all', 'acme']);
    expect(ids({ client: 'globex', severity: 'critical' }, people)).toEqual(['all']);
    expect(ids({ client: null, severity: 'critical' }, people)).toEqual(['all']);
  });

  it('leaves out viewers (they cannot acknowledge) and people in their quiet hours', () => {
    const people = [{ ...base, id: 'viewer', role: 'viewer' }, { ...base, id: 'asleep', quietStart: '11:00', quietEnd: '13:00' }, { ...base, id: 'lead', role: 'lead' }];
    expect(ids({ client: 'acme', severity: 'critical' }, people)).toEqual(['lead']);
  });
});

describe('what a page says', () => {
  const incident = {
    id: '00000000-0000-4000-8000-000000000001',
    number: 42,
    severity: 'critical',
    summary: 'x'.repeat(500),
    client: 'acme',
    clientName: 'Acme Corp',
    createdAt: '2026-06-01T10:00:00Z',
    openAlertCount: 3,
  } as IncidentDto;

  it('puts severity and client in the title and a bounded summary with the age in the body', () => {
    const { title, body } = pageText(incident, 'triggered', at('2026-06-01T12:05:00Z'));
    expect(title).toBe('P1 CRITICAL · Acme Corp');
    expect(body).toMatch(/^#42 x+…\nOpen 2 h 5 min · 3 alerts$/);
    expect(body.length).toBeLessThan(260);
    expect(pageText(incident, 'retriggered', at('2026-06-01T10:00:30Z')).title).toBe('Re-triggered · P1 CRITICAL · Acme Corp');
  });

  it('formats ages', () => {
    expect(formatAge('2026-06-01T10:00:00Z', at('2026-06-01T10:00:40Z'))).toBe('just now');
    expect(formatAge('2026-06-01T10:00:00Z', at('2026-06-01T10:07:00Z'))).toBe('7 min');
    expect(formatAge('2026-06-01T10:00:00Z', at('2026-06-01T13:00:00Z'))).toBe('3 h');
    expect(formatAge('2026-06-01T10:00:00Z', at('2026-06-04T10:00:00Z'))).toBe('3 d');
  });
});

describe('push endpoints and settings', () => {
  const ok = (url: string, allowLoopback = false) => () => checkPushEndpoint(url, { allowLoopback });

  it('accepts https push services only, never this machine or a private network', () => {
    expect(ok('https://fcm.googleapis.com/fcm/send/abc')).not.toThrow();
    expect(ok('https://web.push.apple.com/QGx')).not.toThrow();
    expect(ok('http://fcm.googleapis.com/fcm/send/abc')).toThrow(/https/);
    for (const inside of ['https://localhost/x', 'https://127.0.0.1:8443/x', 'https://[::1]/x', 'https://10.0.0.5/x', 'https://192.168.1.2/x', 'https://169.254.169.254/latest', 'https://[fd00::1]/x', 'https://[::ffff:10.0.0.5]/x']) {
      expect(ok(inside), inside).toThrow();
    }
    expect(ok('https://127.0.0.1:8443/x', true)).not.toThrow();
    expect(ok('https://[::ffff:127.0.0.1]/x')).toThrow(/this machine/);
    expect(ok('https://[::ffff:127.0.0.1]/x', true)).not.toThrow();
    expect(ok('https://10.0.0.5/x', true)).toThrow(/private/);
  });

  it('validates the browser’s subscription keys by size', () => {
    const p256dh = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url');
    const auth = Buffer.alloc(16, 1).toString('base64url');
    expect(pushSubscriptionRequest.safeParse({ endpoint: 'https://push.example/a', keys: { p256dh, auth } }).success).toBe(true);
    expect(pushSubscriptionRequest.safeParse({ endpoint: 'https://push.example/a', keys: { p256dh: auth, auth } }).success).toBe(false);
    expect(pushSubscriptionRequest.safeParse({ endpoint: 'https://push.example/a', keys: { p256dh, auth: p256dh } }).success).toBe(false);
  });

  it('refuses quiet hours that start when they end, and unknown time zones', () => {
    expect(pushSettingsRequest.safeParse({ minSeverity: 'high', quietHours: { start: '22:00', end: '22:00' }, timezone: 'UTC' }).success).toBe(false);
    expect(pushSettingsRequest.safeParse({ minSeverity: 'high', quietHours: null, timezone: 'Europe/Nowhere' }).success).toBe(false);
    expect(pushSettingsRequest.safeParse({ minSeverity: 'high', quietHours: { start: '22:00', end: '06:30' }, timezone: 'America/New_York' }).success).toBe(true);
  });
});
