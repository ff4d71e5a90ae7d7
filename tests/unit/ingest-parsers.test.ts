import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  alertmanagerPayload,
  genericPayload,
  grafanaPayload,
  pagerdutyEvent,
} from '../../src/lib/protocol/ingest.ts';
import type { SourceMapping } from '../../server/engine/types.ts';
import { normaliseAlertmanager } from '../../server/ingest/alertmanager.ts';
import { keepHttpLinks, normaliseGeneric, parseSourceTime, truncateText } from '../../server/ingest/generic.ts';
import { normaliseGrafana } from '../../server/ingest/grafana.ts';
import { normalisePagerduty, pagerdutyDedupKey } from '../../server/ingest/pagerduty.ts';

function fixture(name: string): Record<string, any> {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
}

const mapping: SourceMapping = { clientLabel: 'client', nodeLabel: 'instance', groupBy: [], defaultClient: 'house' };
const receivedAt = new Date('2025-03-01T08:20:00Z');

describe('normaliseAlertmanager', () => {
  const [firing, resolved] = normaliseAlertmanager(alertmanagerPayload.parse(fixture('alertmanager-v4.json')), mapping, receivedAt);

  it('maps a firing alert', () => {
    expect(firing).toEqual({
      fingerprint: 'a1b2c3d4e5f60718',
      status: 'firing',
      action: 'trigger',
      severity: 'critical',
      summary: 'CPU above 95% on core-sw-01',
      labels: { alertname: 'HighCPU', client: 'acme', instance: 'core-sw-01', job: 'snmp', severity: 'critical' },
      annotations: {
        summary: 'CPU above 95% on core-sw-01',
        description: 'CPU load has been 97.3% for 10 minutes',
        runbook_url: 'https://runbooks.acme.example/high-cpu',
      },
      links: [
        { href: 'https://prometheus.acme.example/graph?g0.expr=cpu_load%20%3E%200.95', text: 'Source' },
        { href: 'https://runbooks.acme.example/high-cpu', text: 'Runbook' },
      ],
      startsAt: new Date('2025-03-01T08:15:00.123Z'),
      endsAt: null, // Go zero time = still open
      client: 'acme',
      node: 'core-sw-01',
      groupKey: null,
    });
  });

  it('maps a resolved alert and drops a javascript: runbook link', () => {
    expect(resolved?.status).toBe('resolved');
    expect(resolved?.action).toBe('resolve');
    expect(resolved?.endsAt).toEqual(new Date('2025-03-01T08:10:00Z'));
    expect(resolved?.links.map((l) => l.text)).toEqual(['Source']);
    expect(JSON.stringify(resolved?.links)).not.toContain('javascript');
  });

  it('hashes sorted labels when fingerprint is missing, independent of label order', () => {
    const a = fixture('alertmanager-v4.json');
    delete a.alerts[0].fingerprint;
    const b = fixture('alertmanager-v4.json');
    delete b.alerts[0].fingerprint;
    b.alerts[0].labels = Object.fromEntries(Object.entries(b.alerts[0].labels as Record<string, string>).reverse());
    const fa = normaliseAlertmanager(alertmanagerPayload.parse(a), mapping, receivedAt)[0]?.fingerprint;
    const fb = normaliseAlertmanager(alertmanagerPayload.parse(b), mapping, receivedAt)[0]?.fingerprint;
    expect(fa).toMatch(/^[0-9a-f]{32}$/);
    expect(fa).toBe(fb);
    const c = fixture('alertmanager-v4.json');
    delete c.alerts[0].fingerprint;
    c.alerts[0].labels.instance = 'core-sw-09';
    expect(normaliseAlertmanager(alertmanagerPayload.parse(c), mapping, receivedAt)[0]?.fingerprint).not.toBe(fa);
  });

  it('falls back for severity, summary, client and node', () => {
    const body = fixture('alertmanager-v4.json');
    body.alerts = [
      { ...body.alerts[0], labels: { alertname: 'DiskFull', priority: 'P2' }, annotations: { description: 'Disk 95%' } },
      { ...body.alerts[0], labels: { alertname: 'DiskFull' }, annotations: {} },
      { ...body.alerts[0], labels: {}, annotations: { summary: '' } },
    ];
    const [a, b, c] = normaliseAlertmanager(alertmanagerPayload.parse(body), mapping, receivedAt);
    expect(a).toMatchObject({ severity: 'high', summary: 'Disk 95%', client: 'house', node: null });
    expect(b).toMatchObject({ severity: 'warning', summary: 'DiskFull' });
    expect(c?.summary).toBe('Alert');
    const noDefault = normaliseAlertmanager(alertmanagerPayload.parse(body), { ...mapping, defaultClient: null }, receivedAt);
    expect(noDefault[0]?.client).toBeNull();
  });

  it('uses the mapping labels for client and node', () => {
    const body = fixture('alertmanager-v4.json');
    body.alerts[0].labels.customer = 'globex';
    body.alerts[0].labels.device = 'fw-01';
    const [s] = normaliseAlertmanager(
      alertmanagerPayload.parse(body),
      { clientLabel: 'customer', nodeLabel: 'device', groupBy: [], defaultClient: null },
      receivedAt,
    );
    expect(s).toMatchObject({ client: 'globex', node: 'fw-01' });
  });
});

describe('normaliseGrafana', () => {
  it('maps the fixture with dashboard, panel and silence links', () => {
    const [s] = normaliseGrafana(grafanaPayload.parse(fixture('grafana-v1.json')), mapping, receivedAt);
    expect(s).toMatchObject({
      fingerprint: '57c6d9296de2ad39',
      status: 'firing',
      action: 'trigger',
      severity: 'warning',
      summary: 'Input errors on Gi0/0/1 above 100/s',
      startsAt: new Date('2025-03-01T08:00:00Z'),
      endsAt: null,
      client: 'acme',
      node: 'edge-rtr-01',
      groupKey: null,
    });
    expect(s?.links.map((l) => l.text)).toEqual(['Source', 'Runbook', 'Dashboard', 'Panel', 'Silence']);
    expect(s?.annotations.value_string).toBe("[ var='A' labels={instance=edge-rtr-01} value=142.5 ]");
  });

  it('falls back to message/title annotations for the summary and drops unsafe links', () => {
    const body = fixture('grafana-v1.json');
    body.alerts[0].annotations = { message: 'Legacy message' };
    body.alerts[0].dashboardURL = 'javascript:alert(1)';
    body.alerts[0].panelURL = '';
    body.alerts[0].silenceURL = 'data:text/html,<script>alert(1)</script>';
    const [s] = normaliseGrafana(grafanaPayload.parse(body), mapping, receivedAt);
    expect(s?.summary).toBe('Legacy message');
    expect(s?.links.map((l) => l.text)).toEqual(['Source']);
    body.alerts[0].annotations = { title: 'Title annotation' };
    expect(normaliseGrafana(grafanaPayload.parse(body), mapping, receivedAt)[0]?.summary).toBe('Title annotation');
  });
});

describe('normalisePagerduty', () => {
  it('maps the trigger fixture', () => {
    const event = pagerdutyEvent.parse(fixture('pagerduty-trigger.json'));
    const [s] = normalisePagerduty(event, { ...mapping, nodeLabel: 'node' }, receivedAt);
    expect(s).toEqual({
      fingerprint: 'acme/backup-srv-01/nightly-backup',
      status: 'firing',
      action: 'trigger',
      severity: 'high',
      summary: 'Nightly backup failed on backup-srv-01',
      labels: { source: 'backup-srv-01.acme.example', component: 'veeam', group: 'storage', class: 'backup' },
      annotations: {
        client: 'acme',
        node: 'backup-srv-01',
        job: 'nightly-full',
        failed_vms: '["dc-01","fs-02"]',
        duration_s: '5412',
      },
      links: [
        { href: 'https://backup.acme.example/jobs/nightly-full', text: 'Backup job' },
        { href: 'https://veeam-one.acme.example/', text: 'Veeam ONE' },
      ],
      startsAt: new Date('2025-03-01T02:30:00Z'),
      endsAt: null,
      client: 'acme',
      node: 'backup-srv-01',
      groupKey: null,
    });
    expect(pagerdutyDedupKey(event)).toBe('acme/backup-srv-01/nightly-backup');
  });

  it('maps every PagerDuty severity', () => {
    const expected = { critical: 'critical', error: 'high', warning: 'warning', info: 'info' } as const;
    for (const [pd, ours] of Object.entries(expected)) {
      const body = fixture('pagerduty-trigger.json');
      body.payload.severity = pd;
      expect(normalisePagerduty(pagerdutyEvent.parse(body), mapping, receivedAt)[0]?.severity).toBe(ours);
    }
  });

  it('derives a stable dedup key from routing key, summary and source', () => {
    const body = fixture('pagerduty-trigger.json');
    delete body.dedup_key;
    const key = pagerdutyDedupKey(pagerdutyEvent.parse(body));
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(pagerdutyDedupKey(pagerdutyEvent.parse(structuredClone(body)))).toBe(key);
    expect(normalisePagerduty(pagerdutyEvent.parse(body), mapping, receivedAt)[0]?.fingerprint).toBe(key);
    body.payload.source = 'backup-srv-02.acme.example';
    expect(pagerdutyDedupKey(pagerdutyEvent.parse(body))).not.toBe(key);
  });

  it('maps acknowledge and resolve without payload', () => {
    const ack = pagerdutyEvent.parse({ routing_key: 'r'.repeat(32), event_action: 'acknowledge', dedup_key: 'k1' });
    expect(normalisePagerduty(ack, mapping, receivedAt)[0]).toMatchObject({
      fingerprint: 'k1',
      action: 'acknowledge',
      status: 'firing',
      client: 'house',
      node: null,
      labels: {},
    });
    const resolve = pagerdutyEvent.parse({ routing_key: 'r'.repeat(32), event_action: 'resolve', dedup_key: 'k1' });
    expect(normalisePagerduty(resolve, mapping, receivedAt)[0]).toMatchObject({
      fingerprint: 'k1',
      action: 'resolve',
      status: 'resolved',
      endsAt: receivedAt,
    });
  });

  it('takes node from payload.source when custom_details lacks it, and handles non-object details', () => {
    const body = fixture('pagerduty-trigger.json');
    body.payload.custom_details = 'disk /var full';
    delete body.payload.timestamp;
    const [s] = normalisePagerduty(pagerdutyEvent.parse(body), mapping, receivedAt);
    expect(s).toMatchObject({
      client: 'house',
      node: 'backup-srv-01.acme.example',
      annotations: { details: 'disk /var full' },
      startsAt: receivedAt,
    });
  });

  it('truncates long custom_details values to 16 KiB', () => {
    const body = fixture('pagerduty-trigger.json');
    body.payload.custom_details = { log: 'x'.repeat(40_000), nested: { deep: 'y'.repeat(20_000) } };
    const [s] = normalisePagerduty(pagerdutyEvent.parse(body), mapping, receivedAt);
    expect(s?.annotations.log).toHaveLength(16 * 1024);
    expect(s?.annotations.nested).toHaveLength(16 * 1024);
  });
});

describe('normaliseGeneric', () => {
  it('maps the fixture', () => {
    const [firing, resolved] = normaliseGeneric(genericPayload.parse(fixture('generic.json')), mapping, receivedAt);
    expect(firing).toEqual({
      fingerprint: 'acme-core-sw-01-bgp',
      status: 'firing',
      action: 'trigger',
      severity: 'critical',
      summary: 'BGP session to 203.0.113.1 down on core-sw-01',
      labels: { alertname: 'BGPSessionDown', client: 'acme', instance: 'core-sw-01', peer: '203.0.113.1' },
      annotations: { description: 'Peer AS64500 idle for 3 minutes' },
      links: [{ href: 'https://nms.acme.example/devices/core-sw-01', text: 'NMS' }],
      startsAt: new Date('2025-03-01T08:15:00Z'),
      endsAt: null,
      client: 'acme',
      node: 'core-sw-01',
      groupKey: null,
    });
    expect(resolved).toMatchObject({
      status: 'resolved',
      action: 'resolve',
      endsAt: new Date('2025-03-01T07:04:00Z'),
      links: [{ href: 'https://nms.acme.example/devices/ups-02', text: 'https://nms.acme.example/devices/ups-02' }],
    });
  });

  it('defaults fingerprint, startsAt, client and node', () => {
    const payload = genericPayload.parse({
      signals: [
        { status: 'firing', severity: 'warning', summary: 'Backup late', labels: { job: 'b', instance: 'nas-01' } },
        { status: 'firing', severity: 'warning', summary: 'Backup late', labels: { instance: 'nas-01', job: 'b' } },
        { status: 'firing', severity: 'warning', summary: 'Backup very late', labels: { job: 'b', instance: 'nas-01' } },
      ],
    });
    const [a, b, c] = normaliseGeneric(payload, mapping, receivedAt);
    expect(a?.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect(a?.fingerprint).toBe(b?.fingerprint);
    expect(c?.fingerprint).not.toBe(a?.fingerprint);
    expect(a).toMatchObject({ startsAt: receivedAt, endsAt: null, client: 'house', node: 'nas-01', annotations: {}, links: [] });
  });
});

describe('shared helpers', () => {
  it('keepHttpLinks keeps only http(s), dedups and defaults the text', () => {
    expect(
      keepHttpLinks([
        { href: 'javascript:alert(1)', text: 'x' },
        { href: 'JavaScript:alert(1)', text: 'x' },
        { href: 'file:///etc/passwd', text: 'x' },
        { href: '/relative', text: 'x' },
        { href: 'not a url', text: 'x' },
        { href: undefined, text: 'x' },
        { href: 'http://a.example/x', text: '' },
        { href: 'http://a.example/x', text: 'dup' },
        { href: 'HTTPS://B.example/y', text: 'B' },
      ]),
    ).toEqual([
      { href: 'http://a.example/x', text: 'http://a.example/x' },
      { href: 'https://b.example/y', text: 'B' },
    ]);
  });

  it('parseSourceTime turns Go zero time into null', () => {
    expect(parseSourceTime('0001-01-01T00:00:00Z')).toBeNull();
    expect(parseSourceTime(undefined)).toBeNull();
    expect(parseSourceTime(null)).toBeNull();
    expect(parseSourceTime('2025-03-01T08:00:00+01:00')).toEqual(new Date('2025-03-01T07:00:00Z'));
  });

  it('truncateText never splits a surrogate pair', () => {
    expect(truncateText('ab😀', 3)).toBe('ab');
    expect(truncateText('abc', 3)).toBe('abc');
  });
});
