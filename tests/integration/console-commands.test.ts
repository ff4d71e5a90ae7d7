import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { alertSource, footprint, incidentById, person, uniqueAlert, until, type Person } from './console-support.ts';
import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';
import type { HandoverDto, IncidentDetailDto, IncidentListResponse, BulkResult } from '../../src/lib/protocol/console.ts';
import { NOTE_MAX_CHARS } from '../../src/lib/protocol/console.ts';

const MISSING = '00000000-0000-4000-8000-00000000abcd';

describe.each(DATABASES)('incident commands on $name', (database) => {
  let server: TestServer;
  let fire: Awaited<ReturnType<typeof alertSource>>['fire'];
  let ana: Person; // engineer
  let ben: Person; // engineer
  let lea: Person; // lead
  let vic: Person; // viewer

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, { INGEST_RATE_LIMIT: '100000' }, drop);
    fire = (await alertSource(server)).fire;
    ana = await person(server, 'ana@example.com', 'engineer', null, 'Ana Lopez');
    ben = await person(server, 'ben@example.com', 'engineer', null, 'Ben Okafor');
    lea = await person(server, 'lea@example.com', 'lead', null, 'Lea Marsh');
    vic = await person(server, 'vic@example.com', 'viewer', null, 'Vic Viewer');
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function open(client = 'acme', over = {}): Promise<IncidentDto> {
    return (await fire([uniqueAlert(client, over)]))[0];
  }

  const detail = async (who: Person, id: string) => (await who.get<IncidentDetailDto>(`/api/v1/incidents/${id}`)).body;

  it('what a person did between two webhooks stands when the next one touches the incident: ingest works from the tables, not from what it wrote last', async () => {
    const first = uniqueAlert('acme');
    const [incident] = await fire([first]);
    expect((await ana.post(`/api/v1/incidents/${incident.id}/acknowledge`, { version: incident.version })).status).toBe(200);
    // Another alert of its group joins: still acknowledged, still Ana's.
    const [joined] = await fire([{ ...first, instance: `${first.instance}-b`, summary: `${first.summary} (b)` }]);
    expect(joined.id).toBe(incident.id);
    expect(await incidentById(server, incident.id)).toMatchObject({ status: 'acknowledged', assigneeId: ana.id, alertCount: 2 });
    // Resolved by hand, with its alerts: Alertmanager repeating the same firing changes neither.
    const current = await incidentById(server, incident.id);
    expect((await ana.post(`/api/v1/incidents/${incident.id}/resolve`, { version: current.version })).status).toBe(200);
    await fire([first]);
    expect(await incidentById(server, incident.id)).toMatchObject({ status: 'resolved', openAlertCount: 0 });
    const alerts = await server.context.database.rows<{ status: string }>(sql`select status from alerts where incident_id = ${incident.id}::uuid`);
    expect(alerts.map((a) => a.status)).toEqual(['resolved', 'resolved']);
  });

  it('acknowledge: triggered → acknowledged by a person, who then holds it; timeline names them and how; audit says from where', async () => {
    const incident = await open();
    const reply = await ana.post(`/api/v1/incidents/${incident.id}/acknowledge`, { version: incident.version });
    expect(reply.status).toBe(200);
    expect(reply.body.incident).toMatchObject({ status: 'acknowledged', assigneeId: ana.id, assigneeName: 'Ana Lopez', version: incident.version + 1 });
    expect(reply.body.incident.acknowledgedAt).not.toBeNull();
    const d = await detail(ana, incident.id);
    const ack = d.timeline.find((t) => t.kind === 'acknowledged')!;
    expect(ack.actor).toEqual({ type: 'user', id: ana.id, name: 'Ana Lopez' });
    expect(ack.via).toBe('web');
    expect(d.timeline.find((t) => t.kind === 'assigned')?.detail).toMatchObject({ to: { assigneeId: ana.id, assigneeName: 'Ana Lopez' } });
    expect(d.timeline[0].kind).toBe('triggered');
    expect(d.timeline[0].actor).toMatchObject({ type: 'source', name: 'prometheus' });
    expect(d.alerts).toHaveLength(1);
    expect(d.alerts[0].labels).toMatchObject({ client: 'acme' });
    expect(d.alerts[0].links.every((l) => /^https?:/.test(l.href))).toBe(true);
    expect(d.source?.name).toBe('prometheus');
    expect(d.incident.labels).toMatchObject({ alertname: expect.any(String), client: 'acme' });
    const audit = await server.context.database.rows<{ actor: string; action: string; ip: string | null; user_agent: string | null }>(
      sql`select actor, action, ip, user_agent from audit_log where entity_id = ${incident.id} order by id`,
    );
    expect(audit.map((a) => a.action)).toEqual(['incident.acknowledge', 'incident.assign']);
    expect(audit[0].actor).toBe(`user:${ana.id}`);
    expect(audit[0].ip).toBeTruthy();
  });

  it('unacknowledge, severity, note and resolve with a note, each recorded on the timeline', async () => {
    const incident = await open();
    await ana.post(`/api/v1/incidents/${incident.id}/acknowledge`);
    const unack = await ana.post(`/api/v1/incidents/${incident.id}/unacknowledge`);
    expect(unack.body.incident).toMatchObject({ status: 'triggered', acknowledgedAt: null });
    const sev = await ana.post(`/api/v1/incidents/${incident.id}/severity`, { severity: 'critical' });
    expect(sev.body.incident.severity).toBe('critical');
    const before = sev.body.incident.version;
    const note = await ana.post(`/api/v1/incidents/${incident.id}/notes`, { text: 'Looking at the core switch <b>now</b>' });
    expect(note.status).toBe(200);
    expect(note.body.incident.version).toBe(before); // a note changes no state: nobody's next action conflicts with it
    const resolved = await ana.post(`/api/v1/incidents/${incident.id}/resolve`, { note: 'Replaced the optic', version: before });
    expect(resolved.body.incident).toMatchObject({ status: 'resolved', openAlertCount: 0 });
    const d = await detail(ana, incident.id);
    expect(d.timeline.map((t) => t.kind)).toEqual(['triggered', 'acknowledged', 'assigned', 'unacknowledged', 'severity_changed', 'note', 'resolved']);
    expect(d.timeline.find((t) => t.kind === 'note')?.detail).toEqual({ text: 'Looking at the core switch <b>now</b>' });
    expect(d.timeline.find((t) => t.kind === 'severity_changed')?.detail).toEqual({ from: 'warning', to: 'critical' });
    expect(d.timeline.at(-1)?.detail).toEqual({ note: 'Replaced the optic' });
    expect(d.alerts[0].status).toBe('resolved');
  });

  it('a person-resolved incident stays resolved when Alertmanager repeats the same firing', async () => {
    const alert = uniqueAlert('acme');
    const [incident] = await fire([alert]);
    await ana.post(`/api/v1/incidents/${incident.id}/resolve`);
    await fire([alert]); // the repeat notification of the occurrence a person resolved
    expect((await incidentById(server, incident.id)).status).toBe('resolved');
  });

  it('refusals: 404 unknown, 400 bad id and bad body, 409 impossible transitions and stale versions, 413 long notes — nothing changed', async () => {
    const incident = await open();
    const id = incident.id;
    const unchanged = await footprint(server, id);
    const refusals: [Promise<{ status: number; body: any }>, number, string, RegExp][] = [
      [ana.post(`/api/v1/incidents/${MISSING}/acknowledge`), 404, 'not_found', /no incident/],
      [ana.post(`/api/v1/incidents/not-a-uuid/acknowledge`), 400, 'validation_failed', /params.id/],
      [ana.post(`/api/v1/incidents/${id}/unacknowledge`), 409, 'conflict', /is not acknowledged/],
      [ana.post(`/api/v1/incidents/${id}/snooze`, { until: new Date(Date.now() - 60_000).toISOString() }), 400, 'validation_failed', /not in the future/],
      [ana.post(`/api/v1/incidents/${id}/snooze`, { until: new Date(Date.now() + 30 * 86_400_000).toISOString() }), 400, 'validation_failed', /at most/],
      [ana.post(`/api/v1/incidents/${id}/snooze`, { until: 'tomorrow' }), 400, 'validation_failed', /until/],
      [ana.post(`/api/v1/incidents/${id}/notes`, { text: 'x'.repeat(NOTE_MAX_CHARS + 1) }), 413, 'payload_too_large', /at most/],
      [ana.post(`/api/v1/incidents/${id}/notes`, { text: '   ' }), 400, 'validation_failed', /some text/],
      [ana.post(`/api/v1/incidents/${id}/resolve`, { note: 'y'.repeat(NOTE_MAX_CHARS + 1) }), 413, 'payload_too_large', /note/],
      [ana.post(`/api/v1/incidents/${id}/severity`, { severity: 'warning' }), 409, 'conflict', /already warning/],
      [ana.post(`/api/v1/incidents/${id}/severity`, { severity: 'apocalyptic' }), 400, 'validation_failed', /severity/],
      [ana.post(`/api/v1/incidents/${id}/acknowledge`, { version: incident.version + 5 }), 409, 'conflict', /changed by source prometheus/],
      [ana.post(`/api/v1/incidents/${id}/acknowledge`, { surprise: true }), 400, 'validation_failed', /surprise|Unrecognized/i],
      [ana.post(`/api/v1/incidents/${id}/assign`, { assigneeId: vic.id }), 400, 'validation_failed', /viewer/],
      [ana.post(`/api/v1/incidents/${id}/assign`, { assigneeId: MISSING }), 400, 'validation_failed', /no active user/],
      [ana.post(`/api/v1/incidents/${id}/assign`, {}), 400, 'validation_failed', /assigneeId or a teamId/],
      [ana.post(`/api/v1/incidents/${id}/reassign`, { assigneeId: ben.id }), 400, 'validation_failed', /reason/],
      [ana.post(`/api/v1/incidents/${id}/merge`, { sourceIds: [id] }), 400, 'validation_failed', /itself/],
      [ana.post(`/api/v1/incidents/${id}/merge`, { sourceIds: [MISSING] }), 404, 'not_found', /no incident/],
      [vic.post(`/api/v1/incidents/${id}/acknowledge`), 403, 'forbidden', /engineer/],
    ];
    for (const [request, status, code, message] of refusals) {
      const reply = await request;
      expect({ status: reply.status, code: reply.body.error?.code }).toEqual({ status, code });
      expect(reply.body.error.message).toMatch(message);
    }
    expect(await footprint(server, id)).toBe(unchanged);

    // resolved: every transition but a note is refused, naming why
    await ana.post(`/api/v1/incidents/${id}/resolve`);
    const resolved = await footprint(server, id);
    for (const path of ['resolve', 'acknowledge', 'unacknowledge', 'take-over']) {
      const reply = await ana.post(`/api/v1/incidents/${id}/${path}`);
      expect(reply.status, path).toBe(409);
      expect(reply.body.error.message).toMatch(/resolved/);
    }
    const snooze = await ana.post(`/api/v1/incidents/${id}/snooze`, { until: new Date(Date.now() + 3600_000).toISOString() });
    expect(snooze.status).toBe(409);
    expect(await footprint(server, id)).toBe(resolved);
  });

  it('a stale version is refused with a message naming who changed the incident', async () => {
    const incident = await open();
    expect((await ben.post(`/api/v1/incidents/${incident.id}/severity`, { severity: 'high', version: incident.version })).status).toBe(200);
    const stale = await ana.post(`/api/v1/incidents/${incident.id}/acknowledge`, { version: incident.version });
    expect(stale.status).toBe(409);
    expect(stale.body.error.message).toMatch(/changed by Ben Okafor \(severity changed/);
  });

  it('two people acknowledge the same version at once: one wins, the other gets a conflict; the timeline has one acknowledgement', async () => {
    const incident = await open();
    const [a, b] = await Promise.all([
      ana.post(`/api/v1/incidents/${incident.id}/acknowledge`, { version: incident.version }),
      ben.post(`/api/v1/incidents/${incident.id}/acknowledge`, { version: incident.version }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    const winner = a.status === 200 ? ana : ben;
    expect(loser.body.error.message).toMatch(new RegExp(`changed by ${winner === ana ? 'Ana Lopez' : 'Ben Okafor'}`));
    const d = await detail(ana, incident.id);
    expect(d.timeline.filter((t) => t.kind === 'acknowledged')).toHaveLength(1);
    expect(d.incident.assigneeId).toBe(winner.id);
    // without versions, the second is an impossible transition: also refused, also once
    const other = await open();
    const both = await Promise.all([ana.post(`/api/v1/incidents/${other.id}/acknowledge`), ben.post(`/api/v1/incidents/${other.id}/acknowledge`)]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect((await detail(ana, other.id)).timeline.filter((t) => t.kind === 'acknowledged')).toHaveLength(1);
  });

  it("assign, take over, reassign: someone else's incident is a lead's to move, with the reason on the timeline", async () => {
    const incident = await open();
    const assigned = await ana.post(`/api/v1/incidents/${incident.id}/assign`, { assigneeId: ana.id });
    expect(assigned.body.incident.assigneeId).toBe(ana.id);
    // Ben (engineer) may not take Ana's work
    const taken = await ben.post(`/api/v1/incidents/${incident.id}/take-over`);
    expect(taken.status).toBe(403);
    expect(taken.body.error.message).toMatch(/held by Ana Lopez: only a lead or admin/);
    const moved = await ben.post(`/api/v1/incidents/${incident.id}/reassign`, { assigneeId: ben.id, reason: 'mine now' });
    expect(moved.status).toBe(403);
    // Ana may hand her own on
    const handed = await ana.post(`/api/v1/incidents/${incident.id}/reassign`, { assigneeId: ben.id, reason: 'end of my shift' });
    expect(handed.status).toBe(200);
    // the lead moves Ben's incident back to Ana, saying why
    const lead = await lea.post(`/api/v1/incidents/${incident.id}/reassign`, { assigneeId: ana.id, reason: 'Ben is on the BGP outage' });
    expect(lead.status).toBe(200);
    const leadTakes = await lea.post(`/api/v1/incidents/${incident.id}/take-over`, { reason: 'escalating' });
    expect(leadTakes.body.incident).toMatchObject({ assigneeId: lea.id, assigneeName: 'Lea Marsh' });
    const entries = (await detail(ana, incident.id)).timeline.filter((t) => t.kind === 'reassigned');
    expect(entries.map((e) => [e.actor.name, (e.detail.from as any).assigneeName, (e.detail.to as any).assigneeName, e.detail.reason])).toEqual([
      ['Ana Lopez', 'Ana Lopez', 'Ben Okafor', 'end of my shift'],
      ['Lea Marsh', 'Ben Okafor', 'Ana Lopez', 'Ben is on the BGP outage'],
      ['Lea Marsh', 'Ana Lopez', 'Lea Marsh', 'escalating'],
    ]);
  });

  it('assign to a team, then to nobody', async () => {
    const admin = await person(server, 'admin2@example.com', 'admin', null, 'Ada Admin');
    const team = await admin.post('/api/v1/teams', { slug: 'network', name: 'Network', memberIds: [ana.id] });
    expect(team.status).toBe(201);
    const incident = await open();
    const toTeam = await ben.post(`/api/v1/incidents/${incident.id}/assign`, { teamId: team.body.team.id });
    expect(toTeam.body.incident).toMatchObject({ teamId: team.body.team.id, teamName: 'Network', assigneeId: null });
    const cleared = await ben.post(`/api/v1/incidents/${incident.id}/assign`, { teamId: null });
    expect(cleared.body.incident.teamId).toBeNull();
    const again = await ben.post(`/api/v1/incidents/${incident.id}/assign`, { teamId: null });
    expect(again.status).toBe(409);
  });

  it('snooze: out of the queue until the time, then back as triggered by itself, with a timeline entry', async () => {
    const incident = await open();
    const until_ = new Date(Date.now() + 1500).toISOString();
    const snoozed = await ana.post(`/api/v1/incidents/${incident.id}/snooze`, { until: until_ });
    expect(snoozed.status).toBe(200);
    expect(snoozed.body.incident).toMatchObject({ status: 'acknowledged', snoozedUntil: until_ });
    const queue = await ana.get<IncidentListResponse>('/api/v1/incidents');
    expect(queue.body.incidents.map((i) => i.id)).not.toContain(incident.id);
    const snoozedList = await ana.get<IncidentListResponse>('/api/v1/incidents?state=snoozed');
    expect(snoozedList.body.incidents.map((i) => i.id)).toContain(incident.id);
    const woken = await until(async () => {
      const now = await incidentById(server, incident.id);
      return now.status === 'triggered' && now;
    }, 'the wake-up');
    expect(woken).toMatchObject({ snoozedUntil: null, acknowledgedAt: null });
    const entry = (await detail(ana, incident.id)).timeline.at(-1)!;
    expect(entry).toMatchObject({ kind: 'snooze_ended', actor: { type: 'system' }, detail: { until: until_ } });
    expect((await ana.get<IncidentListResponse>('/api/v1/incidents')).body.incidents.map((i) => i.id)).toContain(incident.id);
  });

  it('a due snooze left from before a restart is woken once, by the timer, without a person', async () => {
    const incident = await open();
    await server.context.database.rows(
      sql`update incidents set status = 'acknowledged', snoozed_until = now() - interval '5 minutes' where id = ${incident.id}::uuid`,
    );
    await until(async () => (await incidentById(server, incident.id)).status === 'triggered', 'the catch-up wake-up');
    await new Promise((r) => setTimeout(r, 1500));
    const entries = (await detail(ana, incident.id)).timeline.filter((t) => t.kind === 'snooze_ended');
    expect(entries).toHaveLength(1);
  });

  it("ingest never overwrites what people set: assignee, team, snooze and a person's severity survive new alerts", async () => {
    const alert = uniqueAlert('acme', { severity: 'high' });
    const [incident] = await fire([alert]);
    const admin = await person(server, 'admin3@example.com', 'admin');
    const team = (await admin.post('/api/v1/teams', { slug: 'ingest-proof', name: 'Ingest proof' })).body.team;
    await ana.post(`/api/v1/incidents/${incident.id}/assign`, { assigneeId: ana.id, teamId: team.id });
    await ana.post(`/api/v1/incidents/${incident.id}/severity`, { severity: 'info' });
    const snoozeUntil = new Date(Date.now() + 3600_000).toISOString();
    await ana.post(`/api/v1/incidents/${incident.id}/snooze`, { until: snoozeUntil });
    // joins the same group (no worse than what the person set, so the severity stays), then a repeat
    await fire([{ ...alert, instance: 'another-node', summary: `${alert.summary} (2)`, severity: 'info' }]);
    await fire([alert]);
    const now = await incidentById(server, incident.id);
    expect(now).toMatchObject({ alertCount: 2, assigneeId: ana.id, teamId: team.id, snoozedUntil: snoozeUntil, status: 'acknowledged', severity: 'info' });
  });

  it('merge: alerts move to the target, the sources resolve pointing at it, both timelines say so', async () => {
    const target = await open('globex');
    const a = await open('globex', { severity: 'critical' });
    const b = await open('globex');
    const elsewhere = await open('acme');
    const cross = await ana.post(`/api/v1/incidents/${target.id}/merge`, { sourceIds: [elsewhere.id] });
    expect(cross.status).toBe(400);
    expect(cross.body.error.message).toMatch(/another client/);
    const merged = await ana.post(`/api/v1/incidents/${target.id}/merge`, { sourceIds: [a.id, b.id], version: target.version });
    expect(merged.status).toBe(200);
    expect(merged.body.incident).toMatchObject({ alertCount: 3, openAlertCount: 3, severity: 'critical', status: 'triggered' });
    const dt = await detail(ana, target.id);
    expect(dt.alerts).toHaveLength(3);
    expect(dt.merged.map((m) => m.id).sort()).toEqual([a.id, b.id].sort());
    expect(dt.timeline.find((t) => t.kind === 'merged')?.detail).toMatchObject({ sources: expect.arrayContaining([{ id: a.id, number: a.number }]) });
    const da = await detail(ana, a.id);
    expect(da.incident).toMatchObject({ status: 'resolved', mergedIntoId: target.id, alertCount: 0 });
    expect(da.mergedInto).toEqual({ id: target.id, number: target.number });
    expect(da.timeline.at(-1)).toMatchObject({ kind: 'merged_into', detail: { target: { id: target.id, number: target.number } } });
    const again = await ana.post(`/api/v1/incidents/${target.id}/merge`, { sourceIds: [a.id] });
    expect(again.status).toBe(409);
  });

  it('bulk: acts on each, reports which failed and why, and changes nothing on those', async () => {
    const one = await open('bulk');
    const two = await open('bulk');
    await ana.post(`/api/v1/incidents/${two.id}/acknowledge`);
    const twoBefore = await footprint(server, two.id);
    const reply = await ben.post<BulkResult>('/api/v1/incidents/bulk/acknowledge', { ids: [one.id, two.id, MISSING] });
    expect(reply.status).toBe(200);
    expect(reply.body.succeeded).toEqual([one.id]);
    expect(reply.body.failed).toEqual([
      { id: two.id, code: 'conflict', message: expect.stringMatching(/already acknowledged/) },
      { id: MISSING, code: 'not_found', message: expect.stringMatching(/no incident/) },
    ]);
    expect(await footprint(server, two.id)).toBe(twoBefore);
    expect((await incidentById(server, one.id)).status).toBe('acknowledged');

    // everything matching a filter: the storm button
    const storm = await Promise.all([open('storm'), open('storm'), open('storm', { severity: 'critical' })]);
    const critical = await ben.post<BulkResult>('/api/v1/incidents/bulk/resolve', { filter: 'client=storm&severity=critical', note: 'flap' });
    expect(critical.body).toEqual({ succeeded: [storm[2].id], failed: [] });
    const rest = await ben.post<BulkResult>('/api/v1/incidents/bulk/snooze', { filter: 'client=storm', until: new Date(Date.now() + 3600_000).toISOString() });
    expect(rest.body.succeeded.sort()).toEqual([storm[0].id, storm[1].id].sort());
    const bad = await ben.post('/api/v1/incidents/bulk/snooze', { filter: 'client=storm', until: '2001-01-01T00:00:00Z' });
    expect(bad.status).toBe(400);
    const both = await ben.post('/api/v1/incidents/bulk/acknowledge', { ids: [one.id], filter: 'client=storm' });
    expect(both.status).toBe(400);
    const unknown = await ben.post('/api/v1/incidents/bulk/explode', { ids: [one.id] });
    expect(unknown.status).toBe(400);
    const viewer = await vic.post('/api/v1/incidents/bulk/acknowledge', { ids: [one.id] });
    expect(viewer.status).toBe(403);
  });

  it('the list: same filters as the queue, priority order (severity, then age), counts per state and severity', async () => {
    const older = await open('order', { severity: 'warning' });
    await new Promise((r) => setTimeout(r, 20));
    const newer = await open('order', { severity: 'warning' });
    const crit = await open('order', { severity: 'critical' });
    const info = await open('order', { severity: 'info' });
    await ana.post(`/api/v1/incidents/${newer.id}/acknowledge`);
    const all = (await ana.get<IncidentListResponse>('/api/v1/incidents?client=order')).body;
    expect(all.incidents.map((i) => i.id)).toEqual([crit.id, older.id, newer.id, info.id]);
    expect(all.total).toBe(4);
    expect(all.counts.state).toEqual({ triggered: 3, acknowledged: 1, snoozed: 0, resolved: 0 });
    expect(all.counts.severity).toEqual({ critical: 1, high: 0, warning: 2, info: 1 });
    expect(all.lastChangeId).toBeGreaterThan(0);
    const mine = (await ana.get<IncidentListResponse>('/api/v1/incidents?client=order&assignee=me')).body;
    expect(mine.incidents.map((i) => i.id)).toEqual([newer.id]);
    const unassignedTriggered = (await ana.get<IncidentListResponse>('/api/v1/incidents?client=order&assignee=unassigned&state=triggered&severity=warning,info')).body;
    expect(unassignedTriggered.incidents.map((i) => i.id)).toEqual([older.id, info.id]);
    // faceted: state counts ignore the state filter, severity counts ignore the severity filter
    expect(unassignedTriggered.counts.state.triggered).toBe(2);
    expect(unassignedTriggered.counts.severity).toMatchObject({ critical: 1, warning: 1, info: 1 });
    const text = (await ana.get<IncidentListResponse>(`/api/v1/incidents?q=${encodeURIComponent(crit.summary)}`)).body;
    expect(text.incidents.map((i) => i.id)).toEqual([crit.id]);
    const byLabel = (await ana.get<IncidentListResponse>(`/api/v1/incidents?q=${encodeURIComponent(`instance=${crit.labels.instance}`)}`)).body;
    expect(byLabel.incidents.map((i) => i.id)).toEqual([crit.id]);
    await ana.post(`/api/v1/incidents/${info.id}/resolve`);
    const resolved = (await ana.get<IncidentListResponse>('/api/v1/incidents?client=order&state=resolved')).body;
    expect(resolved.incidents.map((i) => i.id)).toEqual([info.id]);
    const limited = (await ana.get<IncidentListResponse>('/api/v1/incidents?client=order&limit=1')).body;
    expect(limited.incidents).toHaveLength(1);
    expect(limited.total).toBe(3);
    expect((await ana.get('/api/v1/incidents?limit=0')).status).toBe(400);
    expect((await ana.get(`/api/v1/incidents/${MISSING}`)).status).toBe(404);
    // History reads newest first: the incident resolved last comes first, though the queue's priority (same
    // severity, older first) would put it last; open ones come before the resolved.
    const later = await open('order', { severity: 'info' });
    await ana.post(`/api/v1/incidents/${later.id}/resolve`);
    const history = (await ana.get<IncidentListResponse>('/api/v1/incidents?client=order&state=resolved')).body;
    expect(history.incidents.map((i) => i.id)).toEqual([later.id, info.id]);
    const mixed = (await ana.get<IncidentListResponse>('/api/v1/incidents?client=order&state=triggered,resolved')).body;
    expect(mixed.incidents.map((i) => i.id)).toEqual([crit.id, older.id, later.id, info.id]);
  });

  it('resolved lists: a user restricted to some clients gets their clients’ resolved incidents (handover newest first), and no one else’s', async () => {
    const [north, south, other] = ['rl-north', 'rl-south', 'rl-other'];
    const rita = await person(server, 'rita@example.com', 'lead', [north, south], 'Rita Restricted');
    const since = new Date().toISOString();
    const resolvedInOrder: IncidentDto[] = [];
    // Alternating clients, so the merged list interleaves them by time.
    for (const client of [north, south, other, north, south, north]) {
      const incident = await open(client);
      expect((await lea.post(`/api/v1/incidents/${incident.id}/resolve`)).status).toBe(200);
      if (client !== other) resolvedInOrder.push(incident);
    }
    const newestFirst = resolvedInOrder.map((i) => i.id).reverse();
    // The list comes in queue priority order; which ones it holds is what the scope decides.
    const sorted = (ids: string[]) => [...ids].sort();
    const listed = (await rita.get<IncidentListResponse>('/api/v1/incidents?state=resolved')).body.incidents;
    expect(sorted(listed.map((i) => i.id))).toEqual(sorted(newestFirst));
    const handover = (await rita.get<HandoverDto>(`/api/v1/lead/handover?since=${encodeURIComponent(since)}`)).body;
    expect(handover.resolvedSince.map((i) => i.id)).toEqual(newestFirst);
    const oneClient = (await rita.get<IncidentListResponse>(`/api/v1/incidents?state=resolved&client=${south}`)).body.incidents;
    expect(sorted(oneClient.map((i) => i.id))).toEqual(sorted(resolvedInOrder.filter((i) => i.client === south).map((i) => i.id)));
    expect((await rita.get<IncidentListResponse>(`/api/v1/incidents?state=resolved&client=${other}`)).body.incidents).toEqual([]);
  });

  it('socket commands call the same functions and answer through the ack', async () => {
    const incident = await open();
    const socket = await ana.socket();
    try {
      const ok = await socket.timeout(10_000).emitWithAck('incident:acknowledge', { id: incident.id, version: incident.version });
      expect(ok).toMatchObject({ ok: true, data: { status: 'acknowledged', assigneeId: ana.id } });
      const again = await socket.timeout(10_000).emitWithAck('incident:acknowledge', { id: incident.id, version: incident.version });
      expect(again).toMatchObject({ ok: false, code: 'conflict' });
      const bad = await socket.timeout(10_000).emitWithAck('incident:snooze', { id: incident.id, until: 'soon' } as never);
      expect(bad).toMatchObject({ ok: false, code: 'validation_failed' });
      const missing = await socket.timeout(10_000).emitWithAck('incident:note', { id: MISSING, text: 'hi' });
      expect(missing).toMatchObject({ ok: false, code: 'not_found' });
      const note = await socket.timeout(10_000).emitWithAck('incident:note', { id: incident.id, text: 'from the socket' });
      expect(note.ok).toBe(true);
      const bulk = await socket.timeout(10_000).emitWithAck('incidents:bulk', { action: 'severity', ids: [incident.id], severity: 'high' });
      expect(bulk).toEqual({ ok: true, data: { succeeded: [incident.id], failed: [] } });
      const junk = await socket.timeout(10_000).emitWithAck('incidents:bulk', { action: 'nuke' } as never);
      expect(junk).toMatchObject({ ok: false, code: 'validation_failed' });
      expect((await detail(ana, incident.id)).timeline.find((t) => t.kind === 'note')?.via).toBe('socket');
    } finally {
      socket.disconnect();
    }
  });
});
