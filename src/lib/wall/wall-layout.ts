/**
 * Wall layout maths: panels on the page grid, the playlist's current page, the burn-in pixel shift.
 * Pure (time passed in), so the rules are unit-tested and the components stay thin.
 */
import type { WallPage, WallPanel } from '../protocol/walls.ts';

/** CSS grid placement of a panel (1-based lines). */
export function gridArea(panel: Pick<WallPanel, 'x' | 'y' | 'w' | 'h'>): string {
  return `${panel.y + 1} / ${panel.x + 1} / span ${panel.h} / span ${panel.w}`;
}

/** Cells of the page no panel covers (the editor offers them for a new panel). */
export function freeCells(page: Pick<WallPage, 'columns' | 'rows' | 'panels'>): { x: number; y: number }[] {
  const taken = new Set<string>();
  for (const p of page.panels) for (let x = p.x; x < p.x + p.w; x++) for (let y = p.y; y < p.y + p.h; y++) taken.add(`${x},${y}`);
  const out: { x: number; y: number }[] = [];
  for (let y = 0; y < page.rows; y++) for (let x = 0; x < page.columns; x++) if (!taken.has(`${x},${y}`)) out.push({ x, y });
  return out;
}

/** True when the panel fits the grid and covers no cell of the others. */
export function fits(page: Pick<WallPage, 'columns' | 'rows' | 'panels'>, panel: Pick<WallPanel, 'x' | 'y' | 'w' | 'h'>, ignore = -1): boolean {
  if (panel.x < 0 || panel.y < 0 || panel.w < 1 || panel.h < 1 || panel.x + panel.w > page.columns || panel.y + panel.h > page.rows) return false;
  return page.panels.every((p, i) => i === ignore || p.x >= panel.x + panel.w || panel.x >= p.x + p.w || p.y >= panel.y + panel.h || panel.y >= p.y + p.h);
}

/** Moves (or resizes) panel `index` if the result fits; returns the page unchanged otherwise. */
export function movePanel<P extends Pick<WallPage, 'columns' | 'rows' | 'panels'>>(page: P, index: number, to: Partial<Pick<WallPanel, 'x' | 'y' | 'w' | 'h'>>): P {
  const moved = { ...page.panels[index], ...to };
  if (!fits(page, moved, index)) return page;
  return { ...page, panels: page.panels.map((p, i) => (i === index ? moved : p)) };
}

/**
 * Which playlist page shows at `now`, for a rotation that started at `startedAt`, and how long it
 * stays. One page never rotates.
 */
export function playlistPosition(pages: Pick<WallPage, 'dwellSeconds'>[], startedAt: number, now: number): { index: number; remainingMs: number; dwellMs: number } {
  if (pages.length <= 1) return { index: 0, remainingMs: Infinity, dwellMs: Infinity };
  const cycle = pages.reduce((s, p) => s + p.dwellSeconds * 1000, 0);
  let t = (((now - startedAt) % cycle) + cycle) % cycle;
  for (let i = 0; i < pages.length; i++) {
    const dwell = pages[i].dwellSeconds * 1000;
    if (t < dwell) return { index: i, remainingMs: dwell - t, dwellMs: dwell };
    t -= dwell;
  }
  return { index: 0, remainingMs: pages[0].dwellSeconds * 1000, dwellMs: pages[0].dwellSeconds * 1000 };
}

/** How far the picture has drifted against burn-in: a slow circle of `radius` px, one step a minute. */
export function pixelShift(now: number, radius = 4, periodMinutes = 16): { x: number; y: number } {
  const step = Math.floor(now / 60_000) % periodMinutes;
  const angle = (step / periodMinutes) * 2 * Math.PI;
  return { x: Math.round(Math.cos(angle) * radius), y: Math.round(Math.sin(angle) * radius) };
}
