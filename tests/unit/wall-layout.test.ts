import { describe, expect, it } from 'vitest';
import { fits, freeCells, gridArea, movePanel, pixelShift, playlistPosition } from '../../src/lib/wall/wall-layout.ts';
import { formatAge } from '../../src/lib/domain/format.ts';
import { layoutHeatmap } from '../../src/lib/wall/heatmap-renderer.ts';
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
