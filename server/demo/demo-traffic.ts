/**
 * Realistic alert traffic for the demo estate: problems start and clear, one link flaps, now and then
 * a storm takes a site's reachability down, and Alertmanager repeats firing alerts as it does in life.
 * Everything is posted over HTTP to the server's own webhooks.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Severity } from '../../src/lib/domain/severity.ts';

export interface DemoNode {
  name: string;
  kind: string;
  client: string;
}

export interface DemoTraffic {
  stop(): void;
}

type Format = 'alertmanager' | 'grafana' | 'pagerduty' | 'generic';

interface Problem {
  alertname: string;
  severity: Severity;
  summary: (node: string) => string;
}

const PROBLEMS: Record<string, Problem[]> = {
  server: [
    { alertname: 'HighCPU', severity: 'warning', summary: (n) => `CPU above 90% for 10 minutes on ${n}` },
    { alertname: 'DiskAlmostFull', severity: 'high', summary: (n) => `Disk /var 95% full on ${n}` },
    { alertname: 'ServiceDown', severity: 'critical', summary: (n) => `HTTP health check failing on ${n}` },
    { alertname: 'BackupJobMissed', severity: 'high', summary: (n) => `Nightly backup did not report on ${n}` },
    { alertname: 'HighMemory', severity: 'warning', summary: (n) => `Memory pressure on ${n}` },
  ],
  switch: [
    { alertname: 'InterfaceDown', severity: 'high', summary: (n) => `Uplink Te1/0/48 down on ${n}` },
    { alertname: 'PacketLoss', severity: 'warning', summary: (n) => `Packet loss 4% on ${n}` },
  ],
  router: [
    { alertname: 'BGPSessionDown', severity: 'critical', summary: (n) => `BGP session to ISP down on ${n}` },
    { alertname: 'WANLinkSaturated', severity: 'warning', summary: (n) => `WAN link above 95% utilisation on ${n}` },
  ],
  firewall: [
    { alertname: 'HAFailover', severity: 'high', summary: (n) => `HA failover occurred on ${n}` },
    { alertname: 'CertificateExpiring', severity: 'info', summary: (n) => `VPN certificate expires in 12 days on ${n}` },
  ],
  storage: [
    { alertname: 'RAIDDegraded', severity: 'critical', summary: (n) => `RAID array degraded on ${n}` },
    { alertname: 'VolumeLatency', severity: 'warning', summary: (n) => `Volume latency above 50 ms on ${n}` },
  ],
};

interface Active {
  key: string;
  format: Format;
  node: DemoNode;
  alertname: string;
  severity: Severity;
  summary: string;
  startsAt: string;
  /** Ticks left until it clears by itself. */
  ttl: number;
}

const TICK_MS = 2000;
const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)];

export function createDemoTraffic(options: { url: string; tokens: Record<string, string>; nodes: DemoNode[]; log: FastifyBaseLogger }): DemoTraffic {
  const { url, tokens, nodes, log } = options;
  const active = new Map<string, Active>();
  const flapper = nodes.find((n) => n.kind === 'switch') ?? nodes[0];
  let tick = 0;

  async function post(path: string, body: unknown, token?: string): Promise<void> {
    try {
      const response = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      if (!response.ok) log.debug({ status: response.status, path }, 'demo webhook refused');
    } catch (error) {
      log.debug({ err: error }, 'demo webhook failed');
    }
  }

  const labels = (a: Active) => ({ alertname: a.alertname, severity: a.severity, client: a.node.client, instance: a.node.name, job: a.node.kind });

  function send(fired: Active[], resolved: Active[]): Promise<void>[] {
    const now = new Date().toISOString();
    const sends: Promise<void>[] = [];
    const byFormat = (format: Format, list: Active[]) => list.filter((a) => a.format === format);
    for (const format of ['alertmanager', 'grafana'] as const) {
      const firing = byFormat(format, fired);
      const cleared = byFormat(format, resolved);
      if (firing.length + cleared.length === 0 || !tokens[format]) continue;
      const alerts = [
        ...firing.map((a) => ({ status: 'firing', labels: labels(a), annotations: { summary: a.summary }, startsAt: a.startsAt, endsAt: '0001-01-01T00:00:00Z', generatorURL: 'https://prometheus.demo.invalid/graph', fingerprint: a.key })),
        ...cleared.map((a) => ({ status: 'resolved', labels: labels(a), annotations: { summary: a.summary }, startsAt: a.startsAt, endsAt: now, generatorURL: 'https://prometheus.demo.invalid/graph', fingerprint: a.key })),
      ];
      const common = { version: format === 'grafana' ? '1' : '4', groupKey: `{}:{demo="${format}"}`, truncatedAlerts: 0, status: firing.length ? 'firing' : 'resolved', receiver: 'watchfloor', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'https://alertmanager.demo.invalid' };
      const body = format === 'grafana' ? { ...common, orgId: 1, title: 'Demo alerts', state: firing.length ? 'alerting' : 'ok', message: 'Demo alerts', alerts: alerts.map((a) => ({ ...a, values: {} })) } : { ...common, alerts };
      sends.push(post(`/api/v1/ingest/${format}`, body, tokens[format]));
    }
    if (tokens.pagerduty) {
      for (const a of byFormat('pagerduty', fired)) {
        sends.push(post('/v2/enqueue', { routing_key: tokens.pagerduty, event_action: 'trigger', dedup_key: a.key, payload: { summary: a.summary, source: a.node.name, severity: a.severity === 'high' ? 'error' : a.severity, class: a.alertname, custom_details: { client: a.node.client } } }));
      }
      for (const a of byFormat('pagerduty', resolved)) sends.push(post('/v2/enqueue', { routing_key: tokens.pagerduty, event_action: 'resolve', dedup_key: a.key }));
    }
    const generic = [...byFormat('generic', fired).map((a) => ({ a, status: 'firing' })), ...byFormat('generic', resolved).map((a) => ({ a, status: 'resolved' }))];
    if (generic.length > 0 && tokens.generic) {
      sends.push(post('/api/v1/ingest/generic', { signals: generic.map(({ a, status }) => ({ fingerprint: a.key, status, severity: a.severity, summary: a.summary, labels: labels(a), client: a.node.client, node: a.node.name })) }, tokens.generic));
    }
    return sends;
  }

  function start(node: DemoNode, problem: Problem, format: Format, ttl: number): Active | null {
    const key = `${format}:${node.client}:${node.name}:${problem.alertname}`;
    if (active.has(key)) return null;
    const alert: Active = { key, format, node, alertname: problem.alertname, severity: problem.severity, summary: problem.summary(node.name), startsAt: new Date().toISOString(), ttl };
    active.set(key, alert);
    return alert;
  }

  function step(): void {
    tick++;
    const fired: Active[] = [];
    const resolved: Active[] = [];
    for (const alert of active.values()) {
      if (--alert.ttl <= 0) {
        active.delete(alert.key);
        resolved.push(alert);
      }
    }
    // New problems: about one every four seconds.
    if (Math.random() < 0.5 && nodes.length > 0) {
      const node = pick(nodes);
      const problem = pick(PROBLEMS[node.kind] ?? PROBLEMS.server);
      const format = pick<Format>(['alertmanager', 'alertmanager', 'alertmanager', 'grafana', 'pagerduty', 'generic']);
      const alert = start(node, problem, format, 10 + Math.floor(Math.random() * 50));
      if (alert) fired.push(alert);
    }
    // One link flaps: down and up every few ticks.
    const flapKey = `alertmanager:${flapper.client}:${flapper.name}:InterfaceFlapping`;
    if (tick % 3 === 0) {
      const existing = active.get(flapKey);
      if (existing) {
        active.delete(flapKey);
        resolved.push(existing);
      } else {
        const alert = start(flapper, { alertname: 'InterfaceFlapping', severity: 'warning', summary: (n) => `Interface Gi1/0/7 flapping on ${n}` }, 'alertmanager', 1_000_000);
        if (alert) fired.push(alert);
      }
    }
    // Now and then a storm: a site loses reachability and dozens of nodes alert at once.
    if (Math.random() < 1 / 150) {
      const client = pick(nodes).client;
      const victims = nodes.filter((n) => n.client === client).slice(0, 30);
      const ttl = 20 + Math.floor(Math.random() * 25);
      for (const node of victims) {
        const alert = start(node, { alertname: 'NodeUnreachable', severity: 'critical', summary: (n) => `${n} does not answer ICMP` }, 'alertmanager', ttl);
        if (alert) fired.push(alert);
      }
    }
    // Alertmanager repeats every firing alert each repeat interval (30 s here): dedup must absorb it.
    if (tick % 15 === 0) {
      for (const alert of active.values()) if (alert.format === 'alertmanager' && !fired.includes(alert)) fired.push(alert);
    }
    void Promise.all(send(fired, resolved));
  }

  const timer = setInterval(step, TICK_MS);
  timer.unref();
  // A lively start: a handful of problems at once.
  for (let i = 0; i < 8; i++) step();
  return { stop: () => clearInterval(timer) };
}
