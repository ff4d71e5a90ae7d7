import { describe, expect, it } from 'vitest';
import { condenseTimeline, CONDENSED_SAMPLE } from '../../server/engine/condense-timeline.ts';
import type { TimelineEntry, TimelineKind } from '../../server/engine/types.ts';

const at = new Date('2026-11-20T10:00:00Z');
let seq = 0;
const entry = (incidentId: string, kind: TimelineKind, fingerprint = `fp${seq}`): TimelineEntry => ({
  id: `t${seq++}`,
  incidentId,
  at,
  actor: 'source:prometheus',
  kind,
  detail: { fingerprint },
});

describe('condenseTimeline', () => {
  it('turns a storm of 500 joins to one incident into one entry with the count', () => {
    const storm = [entry('i1', 'triggered'), ...Array.from({ length: 500 }, (_, n) => entry('i1', 'alert_joined', `a${n}`))];
    const out = condenseTimeline(storm);
    expect(out.map((e) => e.kind)).toEqual(['triggered', 'alert_joined']);
    expect(out[1].detail.count).toBe(500);
    expect((out[1].detail.alerts as unknown[]).length).toBe(CONDENSED_SAMPLE);
    expect((out[1].detail.alerts as { fingerprint: string }[])[0].fingerprint).toBe('a0');
  });

  it('keeps single entries unchanged and different incidents and kinds apart, in order', () => {
    const input = [entry('i1', 'alert_joined'), entry('i2', 'alert_joined'), entry('i1', 'alert_resolved'), entry('i1', 'resolved')];
    expect(condenseTimeline(input)).toEqual(input);
  });

  it('never merges state changes such as acknowledged or reopened', () => {
    const input = [entry('i1', 'reopened'), entry('i1', 'reopened'), entry('i1', 'acknowledged'), entry('i1', 'acknowledged')];
    expect(condenseTimeline(input)).toHaveLength(4);
  });

  it('does not change its input', () => {
    const input = [entry('i1', 'alert_joined', 'x'), entry('i1', 'alert_joined', 'y')];
    const copy = structuredClone(input);
    condenseTimeline(input);
    expect(input).toEqual(copy);
  });
});
