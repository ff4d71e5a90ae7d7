import { describe, expect, it } from 'vitest';
import { fits, freeCells, gridArea, movePanel, pixelShift, playlistPosition } from '../../src/lib/wall/wall-layout.ts';
import { formatAge } from '../../src/lib/domain/format.ts';
import { heatmapTicks, layoutHeatmap } from '../../src/lib/wall/heatmap-renderer.ts';
import { localCalendar, localDaysEndingNow } from '../../src/lib/domain/local-days.ts';
import { wallPage } from '../../src/lib/protocol/walls.ts';
import type { UptimeDto } from '../../src/lib/protocol/uptime.ts';

const page = {
  columns: 4,
  rows: 3,
  panels: [
    { kind: 'map' as const, x: 0, y: 0, w: 2, h: 2 },
    { kind: 'queue' as const, x: 2, y: 0, w: 2, h: 3 },
  ],
};

describe('wall grid', () => {
  it('places panels on CSS grid lines', () => {
    expect(gridArea({ x: 2, y: 0, w: 2, h: 3 })).toBe('1 / 3 / span 3 / span 2');
  });

  it('moves and resizes a panel only where it fits', () => {
    expect(movePanel(page, 0, { y: 1 }).panels[0]).toMatchObject({ x: 0, y: 1 });
    expect(movePanel(page, 0, { x: 1 })).toBe(page); // would overlap the queue
    expect(movePanel(page, 0, { h: 4 })).toBe(page); // off the grid
    expect(movePanel(page, 0, { w: 1, h: 3 }).panels[0]).toMatchObject({ w: 1, h: 3 });
    expect(fits(page, { x: 0, y: 2, w: 2, h: 1 })).toBe(true);
    expect(freeCells(page)).toEqual([{ x: 0, y: 2 }, { x: 1, y: 2 }]);
  });

  it('refuses pages whose panels overlap or leave the grid, naming the panel', () => {
    const overlapping = wallPage.safeParse({ name: 'x', dwellSeconds: 30, columns: 4, rows: 3, panels: [page.panels[0], { kind: 'heatmap', x: 1, y: 1, w: 2, h: 2 }] });
    expect(overlapping.success).toBe(false);
    expect(overlapping.error?.issues[0]).toMatchObject({ path: ['panels', 1], message: expect.stringMatching(/overlaps/) });
    expect(wallPage.safeParse({ name: 'x', dwellSeconds: 30, ...page }).success).toBe(true);
  });
});

describe('playlist', () => {
  const pages = [{ dwellSeconds: 10 }, { dwellSeconds: 20 }, { dwellSeconds: 30 }];
  it('shows each page for its dwell time, in order, round and round', () => {
    expect(playlistPosition(pages, 0, 0)).toMatchObject({ index: 0, remainingMs: 10_000 });
    expect(playlistPosition(pages, 0, 9_999)).toMatchObject({ index: 0, remainingMs: 1 });
    expect(playlistPosition(pages, 0, 10_000)).toMatchObject({ index: 1, remainingMs: 20_000 });
    expect(playlistPosition(pages, 0, 45_000)).toMatchObject({ index: 2, remainingMs: 15_000 });
    expect(playlistPosition(pages, 0, 60_000 + 5_000)).toMatchObject({ index: 0 });
  });
  it('never rotates a wall of one page', () => {
    expect(playlistPosition([{ dwellSeconds: 10 }], 0, 1e9)).toEqual({ index: 0, remainingMs: Infinity, dwellMs: Infinity });
  });
});

describe('burn-in and ages', () => {
  it('drifts a few pixels, one step a minute, and comes back around', () => {
    const seen = new Set<string>();
    for (let m = 0; m < 16; m++) {
      const s = pixelShift(m * 60_000);
      expect(Math.hypot(s.x, s.y)).toBeLessThanOrEqual(4.5);
      seen.add(`${s.x},${s.y}`);
    }
    expect(seen.size).toBeGreaterThan(8);
    expect(pixelShift(16 * 60_000)).toEqual(pixelShift(0));
    expect(pixelShift(30_000)).toEqual(pixelShift(0));
  });
  it('says ages the way people read them', () => {
    expect(formatAge(4_000)).toBe('4 s');
    expect(formatAge(12 * 60_000)).toBe('12 min');
    expect(formatAge(3 * 3600_000 + 5 * 60_000)).toBe('3 h 5 min');
    expect(formatAge(2 * 86_400_000 + 4 * 3600_000)).toBe('2 d 4 h');
    expect(formatAge(-5)).toBe('0 s');
  });
});

describe('heatmap layout', () => {
  const data = (nodesPerClient: number, downEvery = 0): UptimeDto => ({
    range: '90d',
    timeZone: 'UTC',
    from: '2025-01-01T00:00:00.000Z',
    bucketSeconds: 86_400,
    buckets: 90,
    generatedAt: '2025-03-31T12:00:00.000Z',
    clients: ['a', 'b'].map((slug) => ({ slug, name: slug.toUpperCase(), uptimeTarget: 99.9, availability: 1, cells: new Array(90).fill(1) })),
    rows: ['a', 'b'].flatMap((client) =>
      Array.from({ length: nodesPerClient }, (_, i) => ({
        nodeId: `${client}${i}`,
        name: `${client}-node-${String(i).padStart(4, '0')}`,
        client,
        availability: downEvery && i % downEvery === 0 ? 0.9 : 1,
        cells: new Array(90).fill(1),
      })),
    ),
  });

  it('shows every node when they fit, each client under its summary row', () => {
    const layout = layoutHeatmap(data(5), 1000, 600, 16);
    expect(layout.rows.map((r) => r.kind)).toEqual(['summary', 'node', 'node', 'node', 'node', 'node', 'summary', 'node', 'node', 'node', 'node', 'node']);
    expect(layout.hidden).toBe(0);
    const last = layout.rows[layout.rows.length - 1];
    expect(last.y + last.h).toBeLessThanOrEqual(600 - layout.legendH);
  });

  it('short of room, keeps each client’s nodes with downtime (worst first) and counts the rest', () => {
    const layout = layoutHeatmap(data(1000, 50), 1000, 400, 16);
    const nodes = layout.rows.filter((r) => r.kind === 'node');
    expect(nodes.length).toBeGreaterThan(0);
    expect(nodes.every((r) => r.availability! < 1)).toBe(true);
    // 20 of each client's 1,000 nodes had downtime: those are shown, the rest said to be fine.
    expect(nodes).toHaveLength(40);
    expect(layout.rows.filter((r) => r.kind === 'more').map((r) => r.label)).toEqual(['+980 nodes at 100%', '+980 nodes at 100%']);
    expect(layout.hidden).toBe(2000 - nodes.length);
    const last = layout.rows[layout.rows.length - 1];
    expect(last.y + last.h).toBeLessThanOrEqual(400);
  });
});

describe('heatmap axis', () => {
  const dto = (range: '7d' | '90d', timeZone: string, from: number, buckets: number): UptimeDto => ({
    range,
    timeZone,
    from: new Date(from).toISOString(),
    bucketSeconds: range === '7d' ? 3600 : 86_400,
    buckets,
    generatedAt: new Date(from).toISOString(),
    clients: [],
    rows: [],
  });
  const week = (timeZone: string, from: string) => heatmapTicks(dto('7d', timeZone, Date.parse(from), 168));

  it('marks each midnight of the 7 days in the NOC’s zone, labelled with its local date', () => {
    // From Monday 10 March 2025, 00:00 UTC.
    expect(week('UTC', '2025-03-10T00:00:00Z').slice(0, 2)).toEqual([
      { i: 0, text: 'Mon 10' },
      { i: 24, text: 'Tue 11' },
    ]);
    // Sydney (+11): midnight is 13:00 UTC, and the first one is already Tuesday's.
    expect(week('Australia/Sydney', '2025-03-10T00:00:00Z').slice(0, 2)).toEqual([
      { i: 13, text: 'Tue 11' },
      { i: 37, text: 'Wed 12' },
    ]);
    // Kolkata (+05:30): the first hour after midnight starts at 19:00 UTC.
    expect(week('Asia/Kolkata', '2025-03-10T00:00:00Z')[0]).toEqual({ i: 19, text: 'Tue 11' });
  });

  it('spaces the marks 23 hours apart across the night clocks go forward', () => {
    // New York, Sunday 9 March 2025: midnight is 05:00 UTC, then 04:00 UTC from Monday on.
    const ticks = week('America/New_York', '2025-03-07T00:00:00Z');
    const sunday = ticks.findIndex((t) => t.text === 'Sun 9');
    expect(ticks[sunday + 1].i - ticks[sunday].i).toBe(23);
    expect(ticks[sunday + 1].text).toBe('Mon 10');
  });

  it('marks the first of each month on the 90 days by local date', () => {
    const sydney = localCalendar('Australia/Sydney');
    // 20:00 UTC on 30 March is 31 March in Sydney: the 90 days begin on 1 January there (31 December in UTC).
    const { days, bounds } = localDaysEndingNow(sydney, Date.parse('2025-03-30T20:00:00Z'), 90);
    expect(new Date(bounds[0]).toISOString()).toBe('2024-12-31T13:00:00.000Z');
    const ticks = heatmapTicks(dto('90d', 'Australia/Sydney', bounds[0], 90));
    expect(ticks).toEqual([
      { i: 0, text: 'Jan' },
      { i: 31, text: 'Feb' },
      { i: 59, text: 'Mar' },
    ]);
    expect(ticks.map((t) => days[t.i])).toEqual(['2025-01-01', '2025-02-01', '2025-03-01']);
    // Counted in UTC dates, every mark would sit one column late.
    expect(heatmapTicks(dto('90d', 'UTC', bounds[0], 90))[0]).toEqual({ i: 1, text: 'Jan' });
  });
});
