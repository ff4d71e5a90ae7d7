import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  MAX_ALERTS,
  alertmanagerPayload,
  genericPayload,
  grafanaPayload,
  pagerdutyEvent,
} from '../../src/lib/protocol/ingest.ts';
import { formatIssue } from '../../src/lib/protocol/errors.ts';

function fixture(name: string): Record<string, any> {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
}

/** The first issue of a parse that must fail. */
function firstIssue(schema: z.ZodType, value: unknown): { path: string; message: string } {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected the parse to fail');
  return formatIssue(result.error);
}

describe('alertmanagerPayload', () => {
  it('accepts the v4 fixture', () => {
    const parsed = alertmanagerPayload.parse(fixture('alertmanager-v4.json'));
    expect(parsed.alerts).toHaveLength(2);
    expect(parsed.alerts[0]?.endsAt).toBe('0001-01-01T00:00:00Z');
  });

  it('defaults truncatedAlerts to 0 and makes fingerprint/generatorURL optional', () => {
    const body = fixture('alertmanager-v4.json');
    delete body.truncatedAlerts;
    delete body.alerts[0].fingerprint;
    delete body.alerts[0].generatorURL;
    expect(alertmanagerPayload.parse(body).truncatedAlerts).toBe(0);
  });

  it('accepts labels without alertname', () => {
    const body = fixture('alertmanager-v4.json');
    body.alerts[0].labels = { instance: 'core-sw-01' };
    expect(alertmanagerPayload.safeParse(body).success).toBe(true);
  });

  it('rejects a bad alert status with the path alerts[0].status', () => {
    const body = fixture('alertmanager-v4.json');
    body.alerts[0].status = 'pending';
    expect(firstIssue(alertmanagerPayload, body).path).toBe('alerts[0].status');
  });

  it('rejects a non-ISO startsAt with its path', () => {
    const body = fixture('alertmanager-v4.json');
    body.alerts[1].startsAt = 'yesterday';
    expect(firstIssue(alertmanagerPayload, body).path).toBe('alerts[1].startsAt');
    body.alerts[1].startsAt = '2025-03-01T08:00:00'; // no zone
    expect(firstIssue(alertmanagerPayload, body).path).toBe('alerts[1].startsAt');
  });

  it('rejects the wrong version, an empty or oversized alert list', () => {
    expect(firstIssue(alertmanagerPayload, { ...fixture('alertmanager-v4.json'), version: '3' }).path).toBe('version');
    expect(firstIssue(alertmanagerPayload, { ...fixture('alertmanager-v4.json'), alerts: [] }).path).toBe('alerts');
    const one = fixture('alertmanager-v4.json').alerts[0];
    const many = Array.from({ length: MAX_ALERTS + 1 }, () => one);
    expect(firstIssue(alertmanagerPayload, { ...fixture('alertmanager-v4.json'), alerts: many }).path).toBe('alerts');
  });

  it('enforces label limits: key length, value size, count', () => {
    const body = fixture('alertmanager-v4.json');
    body.alerts[0].labels = { ['k'.repeat(257)]: 'v' };
    expect(firstIssue(alertmanagerPayload, body).path).toBe(`alerts[0].labels.${'k'.repeat(257)}`);

    body.alerts[0].labels = { big: 'x'.repeat(16 * 1024 + 1) };
    expect(firstIssue(alertmanagerPayload, body).path).toBe('alerts[0].labels.big');
    body.alerts[0].labels = { big: 'x'.repeat(16 * 1024) };
    expect(alertmanagerPayload.safeParse(body).success).toBe(true);

    body.alerts[0].labels = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`l${i}`, 'v']));
    expect(firstIssue(alertmanagerPayload, body).path).toBe('alerts[0].labels');
    body.alerts[0].labels = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`l${i}`, 'v']));
    expect(alertmanagerPayload.safeParse(body).success).toBe(true);
  });

  it('rejects non-string label values', () => {
    const body = fixture('alertmanager-v4.json');
    body.alerts[0].annotations = { value: 97.3 };
    expect(firstIssue(alertmanagerPayload, body).path).toBe('alerts[0].annotations.value');
  });
});

describe('grafanaPayload', () => {
  it('accepts the v1 fixture', () => {
    const parsed = grafanaPayload.parse(fixture('grafana-v1.json'));
    expect(parsed.orgId).toBe(1);
    expect(parsed.alerts[0]?.values).toEqual({ A: 142.5, B: null });
  });

  it('is lenient with optional per-alert fields Grafana may omit or null', () => {
    const body = fixture('grafana-v1.json');
    for (const key of ['silenceURL', 'dashboardURL', 'panelURL', 'valueString', 'imageURL', 'fingerprint', 'generatorURL']) {
      delete body.alerts[0][key];
    }
    body.alerts[0].values = null;
    expect(grafanaPayload.safeParse(body).success).toBe(true);
    delete body.alerts[0].values;
    expect(grafanaPayload.safeParse(body).success).toBe(true);
  });

  it('is strict on types when present', () => {
    const body = fixture('grafana-v1.json');
    body.alerts[0].values = { A: '142.5' };
    expect(firstIssue(grafanaPayload, body).path).toBe('alerts[0].values.A');
    const body2 = fixture('grafana-v1.json');
    body2.alerts[0].dashboardURL = 42;
    expect(firstIssue(grafanaPayload, body2).path).toBe('alerts[0].dashboardURL');
    expect(firstIssue(grafanaPayload, { ...fixture('grafana-v1.json'), orgId: '1' }).path).toBe('orgId');
  });

  it('rejects an Alertmanager body (version 4)', () => {
    expect(firstIssue(grafanaPayload, fixture('alertmanager-v4.json')).path).toBe('version');
  });
});

describe('pagerdutyEvent', () => {
  it('accepts the trigger fixture, including a +0000 offset timestamp', () => {
    const parsed = pagerdutyEvent.parse(fixture('pagerduty-trigger.json'));
    expect(parsed.payload?.timestamp).toBe('2025-03-01T02:30:00.000+0000');
  });

  it('requires dedup_key for acknowledge and resolve', () => {
    for (const action of ['acknowledge', 'resolve']) {
      const issue = firstIssue(pagerdutyEvent, { routing_key: 'r'.repeat(32), event_action: action });
      expect(issue.path).toBe('dedup_key');
      expect(issue.message).toContain(action);
    }
    expect(pagerdutyEvent.safeParse({ routing_key: 'r', event_action: 'resolve', dedup_key: 'k' }).success).toBe(true);
  });

  it('requires payload for trigger but not dedup_key', () => {
    expect(firstIssue(pagerdutyEvent, { routing_key: 'r', event_action: 'trigger' }).path).toBe('payload');
    const body = fixture('pagerduty-trigger.json');
    delete body.dedup_key;
    expect(pagerdutyEvent.safeParse(body).success).toBe(true);
  });

  it('validates the payload fields', () => {
    const body = fixture('pagerduty-trigger.json');
    body.payload.severity = 'high';
    expect(firstIssue(pagerdutyEvent, body).path).toBe('payload.severity');
    const long = fixture('pagerduty-trigger.json');
    long.payload.summary = 's'.repeat(1025);
    expect(firstIssue(pagerdutyEvent, long).path).toBe('payload.summary');
    const key = fixture('pagerduty-trigger.json');
    key.dedup_key = 'k'.repeat(256);
    expect(firstIssue(pagerdutyEvent, key).path).toBe('dedup_key');
    expect(firstIssue(pagerdutyEvent, { ...fixture('pagerduty-trigger.json'), routing_key: '' }).path).toBe('routing_key');
    expect(firstIssue(pagerdutyEvent, { ...fixture('pagerduty-trigger.json'), event_action: 'snooze' }).path).toBe('event_action');
  });

  it('accepts any JSON value as custom_details', () => {
    const body = fixture('pagerduty-trigger.json');
    body.payload.custom_details = 'plain text';
    expect(pagerdutyEvent.safeParse(body).success).toBe(true);
  });
});

describe('genericPayload', () => {
  it('accepts the fixture and a minimal signal', () => {
    expect(genericPayload.parse(fixture('generic.json')).signals).toHaveLength(2);
    expect(
      genericPayload.safeParse({ signals: [{ status: 'firing', severity: 'info', summary: 'Disk 80% on nas-01' }] })
        .success,
    ).toBe(true);
  });

  it('uses the Watchfloor severity names only', () => {
    const body = fixture('generic.json');
    body.signals[1].severity = 'error';
    expect(firstIssue(genericPayload, body).path).toBe('signals[1].severity');
  });

  it('rejects an empty summary, an empty list and a bad endsAt', () => {
    const body = fixture('generic.json');
    body.signals[0].summary = '';
    expect(firstIssue(genericPayload, body).path).toBe('signals[0].summary');
    expect(firstIssue(genericPayload, { signals: [] }).path).toBe('signals');
    const bad = fixture('generic.json');
    bad.signals[0].endsAt = 'soon';
    expect(firstIssue(genericPayload, bad).path).toBe('signals[0].endsAt');
  });
});

describe('formatIssue', () => {
  it('writes keys that are not identifiers in brackets', () => {
    const body = fixture('alertmanager-v4.json');
    body.alerts[2] = { ...body.alerts[0], labels: { 'bad key': 1 } };
    expect(firstIssue(alertmanagerPayload, body)).toEqual({
      path: 'alerts[2].labels["bad key"]',
      message: expect.any(String),
    });
  });

  it('gives an empty path for a root error', () => {
    expect(firstIssue(genericPayload, 'not an object').path).toBe('');
  });
});
