import { describe, expect, it } from 'vitest';
import { describeTimelineEntry, holderText } from '../../src/lib/console/timeline-text.ts';
import type { TimelineEntryDto } from '../../src/lib/protocol/console.ts';

const ana = { type: 'user' as const, id: 'u1', name: 'Ana' };
const entry = (kind: string, detail: Record<string, unknown>, over: Partial<TimelineEntryDto> = {}) => ({
  kind,
  detail,
  actor: ana,
  via: 'web' as const,
  ...over,
});

describe('timeline entries as sentences', () => {
  it('says who acknowledged and from where', () => {
    expect(describeTimelineEntry(entry('acknowledged', {})).title).toBe('Acknowledged by Ana');
    expect(describeTimelineEntry(entry('acknowledged', {}, { via: 'push' })).title).toBe('Acknowledged by Ana via push');
  });

  it('reassignment: from → to, by whom, and why', () => {
    const text = describeTimelineEntry(
      entry('reassigned', {
        from: { assigneeId: 'u2', assigneeName: 'Ben', teamId: null, teamName: null },
        to: { assigneeId: 'u3', assigneeName: 'Carla', teamId: 't1', teamName: 'Network' },
        reason: 'Ben is off shift',
      }),
    );
    expect(text.title).toBe('Reassigned from Ben → Carla (Network) by Ana');
    expect(text.reason).toBe('Ben is off shift');
    expect(describeTimelineEntry(entry('assigned', { from: null, to: { teamName: 'Network' } })).title).toBe('Assigned to team Network by Ana');
    expect(holderText({ assigneeId: null, teamId: null })).toBe('nobody');
  });

  it('notes, resolutions and severity changes keep their text apart from the sentence', () => {
    expect(describeTimelineEntry(entry('note', { text: '<b>rebooted</b>' }))).toEqual({ title: 'Note by Ana', body: '<b>rebooted</b>' });
    expect(describeTimelineEntry(entry('resolved', { note: 'fixed upstream' }))).toEqual({ title: 'Resolved by Ana', body: 'fixed upstream' });
    expect(describeTimelineEntry(entry('resolved', { reason: 'all_alerts_resolved' }, { actor: { type: 'system', id: null, name: 'system' } })).title).toBe(
      'Resolved: all its alerts resolved',
    );
    expect(describeTimelineEntry(entry('severity_changed', { from: 'high', to: 'critical' })).title).toBe('Severity high → critical by Ana');
  });

  it('a condensed storm names the first alerts and counts the rest', () => {
    const text = describeTimelineEntry(
      entry('alert_joined', { count: 37, alerts: [{ summary: 'a down' }, { summary: 'b down' }] }, { actor: { type: 'source', id: 's1', name: 'prometheus' } }),
    );
    expect(text.title).toBe('37 alerts joined by prometheus');
    expect(text.items).toEqual(['a down', 'b down', '… and 35 more']);
  });

  it('merges name the incidents on both sides', () => {
    expect(describeTimelineEntry(entry('merged', { sources: [{ id: 'x', number: 12 }, { id: 'y', number: 13 }], alertCount: 3 })).title).toBe(
      'Merged #12, #13 into this one (3 alerts) by Ana',
    );
    expect(describeTimelineEntry(entry('merged_into', { target: { id: 'z', number: 10 } })).title).toBe('Merged into #10 by Ana');
  });

  it('an unknown kind still says something, and survives odd details', () => {
    expect(describeTimelineEntry(entry('escalated', { step: 2 })).title).toBe('escalated by Ana');
    expect(() => describeTimelineEntry(entry('reassigned', { from: 'garbage', to: 42 }))).not.toThrow();
  });
});
