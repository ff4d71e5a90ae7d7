import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  QUEUE_STATES,
  emptyFilter,
  filterToParams,
  isEmptyFilter,
  matchesFilter,
  matchesText,
  parseFilter,
  queueStateOf,
  serialiseFilter,
  type FilterableIncident,
  type IncidentFilter,
} from '../../src/lib/domain/incident-filter.ts';
import { SEVERITIES } from '../../src/lib/domain/severity.ts';

const NOW = Date.parse('2026-11-20T12:00:00.000Z');
const me = { id: 'u-me', teamIds: ['t-network'] };

function incident(over: Partial<FilterableIncident> = {}): FilterableIncident {
  return {
    number: 42,
    status: 'triggered',
    severity: 'critical',
    summary: 'BGP session down on core-sw-01',
    client: 'acme',
    clientName: 'Acme Corp',
    assigneeId: null,
    teamId: null,
    snoozedUntil: null,
    labels: { alertname: 'BGPSessionDown', instance: 'core-sw-01', site: 'Paris' },
    ...over,
  };
}
const filter = (over: Partial<IncidentFilter> = {}): IncidentFilter => ({ ...emptyFilter(), ...over });
const matches = (i: FilterableIncident, f: Partial<IncidentFilter>) => matchesFilter(i, filter(f), me, NOW);

describe('parseFilter / filterToParams: the filter in the URL', () => {
  it('reads every part of a shared URL', () => {
    const parsed = parseFilter(
      new URLSearchParams('client=acme&severity=high,critical&state=snoozed&assignee=me&team=t-network&q=bgp%20paris'),
    );
    expect(parsed).toEqual({
      client: 'acme',
      severity: ['critical', 'high'],
      state: ['snoozed'],
      assignee: 'me',
      team: 't-network',
      q: 'bgp paris',
    });
  });

  it('accepts repeated parameters as well as comma lists, and drops values that mean nothing', () => {
    const parsed = parseFilter(new URLSearchParams('severity=info&severity=CRITICAL,bogus&state=closed,triggered&q=%20%20'));
    expect(parsed.severity).toEqual(['critical', 'info']);
    expect(parsed.state).toEqual(['triggered']);
    expect(parsed.q).toBeUndefined();
  });

  it('an empty URL is the default queue', () => {
    const parsed = parseFilter(new URLSearchParams(''));
    expect(parsed).toEqual(emptyFilter());
    expect(isEmptyFilter(parsed)).toBe(true);
    expect(filterToParams(parsed).toString()).toBe('');
  });

  it('serialiseFilter gives the query string bulk requests carry', () => {
    expect(serialiseFilter(filter({ severity: ['critical'], state: ['triggered'] }))).toBe('severity=critical&state=triggered');
  });

  it('writes canonical, readable parameters and leaves empty parts out', () => {
    const params = filterToParams(filter({ severity: ['info', 'critical'], state: ['acknowledged', 'triggered'], assignee: 'unassigned' }));
    expect(params.toString()).toBe('severity=critical%2Cinfo&state=triggered%2Cacknowledged&assignee=unassigned');
  });

  it('round-trips any filter', () => {
    const text = fc.string({ maxLength: 30 }).map((s) => s.trim()).filter((s) => s.length > 0 && !s.includes(','));
    const arbitrary = fc.record(
      {
        client: text.map((s) => s.toLowerCase()),
        severity: fc.subarray([...SEVERITIES]),
        state: fc.subarray([...QUEUE_STATES]),
        assignee: text,
        team: text,
        q: text,
      },
      { requiredKeys: ['severity', 'state'] },
    );
    fc.assert(
      fc.property(arbitrary, (f) => {
        expect(parseFilter(new URLSearchParams(filterToParams(f).toString()))).toEqual(f);
      }),
    );
  });

  it('caps what a crafted URL can carry', () => {
    const parsed = parseFilter(new URLSearchParams({ q: 'x'.repeat(10_000), client: 'y'.repeat(10_000) }));
    expect(parsed.q!.length).toBeLessThanOrEqual(200);
    expect(parsed.client!.length).toBeLessThanOrEqual(100);
  });
});

describe('matchesFilter', () => {
  it('the default queue shows triggered and acknowledged, not snoozed or resolved', () => {
    expect(matches(incident(), {})).toBe(true);
    expect(matches(incident({ status: 'acknowledged' }), {})).toBe(true);
    expect(matches(incident({ snoozedUntil: '2026-11-20T13:00:00.000Z' }), {})).toBe(false);
    expect(matches(incident({ status: 'resolved' }), {})).toBe(false);
    expect(matches(incident({ status: 'resolved' }), { state: ['triggered', 'acknowledged', 'snoozed'] })).toBe(false);
    // Resolved incidents only where asked for (REST history).
    expect(matches(incident({ status: 'resolved' }), { state: ['resolved'] })).toBe(true);
  });

  it('a snooze that has ended puts the incident back in the queue', () => {
    const woken = incident({ status: 'acknowledged', snoozedUntil: '2026-11-20T11:59:00.000Z' });
    expect(queueStateOf(woken, NOW)).toBe('acknowledged');
    expect(matches(woken, {})).toBe(true);
    expect(matches(woken, { state: ['snoozed'] })).toBe(false);
  });

  it('state: snoozed shows only snoozed incidents', () => {
    const snoozed = incident({ snoozedUntil: '2026-11-20T13:00:00.000Z' });
    expect(queueStateOf(snoozed, NOW)).toBe('snoozed');
    expect(matches(snoozed, { state: ['snoozed'] })).toBe(true);
    expect(matches(incident(), { state: ['snoozed'] })).toBe(false);
    expect(matches(incident({ status: 'acknowledged' }), { state: ['triggered'] })).toBe(false);
  });

  it('severity and client', () => {
    expect(matches(incident({ severity: 'high' }), { severity: ['critical'] })).toBe(false);
    expect(matches(incident({ severity: 'high' }), { severity: ['critical', 'high'] })).toBe(true);
    expect(matches(incident(), { client: 'globex' })).toBe(false);
    expect(matches(incident(), { client: 'acme' })).toBe(true);
    expect(matches(incident({ client: null }), { client: 'acme' })).toBe(false);
  });

  it('assignee: me, unassigned, or a person', () => {
    const mine = incident({ assigneeId: 'u-me' });
    const theirs = incident({ assigneeId: 'u-other' });
    const nobody = incident();
    expect([mine, theirs, nobody].map((i) => matches(i, { assignee: 'me' }))).toEqual([true, false, false]);
    expect([mine, theirs, nobody].map((i) => matches(i, { assignee: 'unassigned' }))).toEqual([false, false, true]);
    expect([mine, theirs, nobody].map((i) => matches(i, { assignee: 'u-other' }))).toEqual([false, true, false]);
  });

  it('team: mine (any team I belong to) or one team', () => {
    const network = incident({ teamId: 't-network' });
    const servers = incident({ teamId: 't-servers' });
    const none = incident();
    expect([network, servers, none].map((i) => matches(i, { team: 'mine' }))).toEqual([true, false, false]);
    expect([network, servers, none].map((i) => matches(i, { team: 't-servers' }))).toEqual([false, true, false]);
  });

  it('every part must hold', () => {
    const i = incident({ assigneeId: 'u-me', severity: 'high' });
    expect(matches(i, { assignee: 'me', severity: ['high'], q: 'bgp' })).toBe(true);
    expect(matches(i, { assignee: 'me', severity: ['high'], q: 'ospf' })).toBe(false);
  });
});

describe('matchesText: free text over summary and labels', () => {
  const i = incident();
  it('is case-insensitive and needs every term', () => {
    expect(matchesText(i, 'bgp')).toBe(true);
    expect(matchesText(i, 'CORE-SW-01 session')).toBe(true);
    expect(matchesText(i, 'bgp ospf')).toBe(false);
  });
  it('searches label values and key=value, the client and the number', () => {
    expect(matchesText(i, 'paris')).toBe(true);
    expect(matchesText(i, 'alertname=bgpsessiondown')).toBe(true);
    expect(matchesText(i, 'site=london')).toBe(false);
    expect(matchesText(i, 'acme corp')).toBe(true);
    expect(matchesText(i, '#42')).toBe(true);
    expect(matchesText(i, '42')).toBe(true);
    expect(matchesText(i, '#43')).toBe(false);
  });
  it('keeps quoted phrases whole and does not match across fields', () => {
    expect(matchesText(i, '"session down"')).toBe(true);
    expect(matchesText(i, '"down on paris"')).toBe(false);
    expect(matchesText(i, '"core-sw-01acme"')).toBe(false);
  });
  it('treats regex characters as text', () => {
    expect(matchesText(incident({ summary: 'disk /var at 95% (sda1)' }), '(sda1)')).toBe(true);
    expect(matchesText(i, '.*')).toBe(false);
  });
});
