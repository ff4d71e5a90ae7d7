import { describe, expect, it } from 'vitest';
import { anchoredScrollTop, rowWindow, scrollAnchor, scrollToReveal } from '../../src/lib/console/virtual-window.ts';

describe('rowWindow: which queue rows are in the DOM', () => {
  it('renders only the rows in view plus the overscan', () => {
    const w = rowWindow(3600, 720, 36, 10_000, 5);
    // Row 100 is at the top, 20 rows fit.
    expect(w.start).toBe(95);
    expect(w.end).toBe(125);
    expect(w.offsetTop).toBe(95 * 36);
    expect(w.totalHeight).toBe(360_000);
  });

  it('counts a partly visible row at the bottom', () => {
    const w = rowWindow(18, 720, 36, 10_000, 0);
    expect(w.start).toBe(0);
    expect(w.end).toBe(21);
  });

  it('clamps at both ends and on a list shorter than the viewport', () => {
    expect(rowWindow(0, 720, 36, 10_000, 5)).toMatchObject({ start: 0, end: 25 });
    expect(rowWindow(999_999, 720, 36, 10_000, 5)).toMatchObject({ start: 9975, end: 10_000 });
    expect(rowWindow(500, 720, 36, 3, 5)).toMatchObject({ start: 0, end: 3 });
    expect(rowWindow(0, 720, 36, 0)).toEqual({ start: 0, end: 0, offsetTop: 0, totalHeight: 0 });
  });
});

describe('rowWindow in steps: the DOM changes every few rows while scrolling, not at every row', () => {
  const windows = (step: number) => Array.from({ length: 400 }, (_, px) => rowWindow(3600 + px, 720, 36, 10_000, 5, step));

  it('always covers the rows in view and at least the overscan either side', () => {
    for (const [px, w] of windows(8).entries()) {
      const top = 3600 + px;
      const first = Math.floor(top / 36);
      const last = Math.ceil((top + 720) / 36); // exclusive: the row cut off at the bottom counts
      expect(w.start).toBeLessThanOrEqual(first - 5);
      expect(w.end).toBeGreaterThanOrEqual(last + 5);
      expect(w.start % 8).toBe(0);
      expect(w.offsetTop).toBe(w.start * 36);
    }
  });

  it('changes far less often than a window that follows every row', () => {
    const changes = (list: { start: number; end: number }[]) => list.filter((w, i) => i > 0 && (w.start !== list[i - 1].start || w.end !== list[i - 1].end)).length;
    expect(changes(windows(1))).toBeGreaterThanOrEqual(11); // 400 px cross 11 row boundaries at the top alone
    expect(changes(windows(8))).toBeLessThanOrEqual(4);
  });

  it('still clamps at both ends', () => {
    expect(rowWindow(0, 720, 36, 10_000, 5, 8)).toMatchObject({ start: 0, end: 32 });
    expect(rowWindow(999_999, 720, 36, 10_000, 5, 8)).toMatchObject({ start: 9968, end: 10_000 });
    expect(rowWindow(500, 720, 36, 3, 5, 8)).toMatchObject({ start: 0, end: 3 });
  });
});

describe('scroll anchoring: live changes do not move what people are reading', () => {
  const ids = Array.from({ length: 100 }, (_, i) => `i${i}`);
  const rows = ids.map((id) => ({ id }));
  it('no anchor at the top: new rows push in and are seen', () => {
    expect(scrollAnchor(rows, 0, 36)).toBeNull();
    expect(anchoredScrollTop(null, () => 0, 0, 36)).toBe(0);
  });

  it('keeps the top row in place when rows are inserted above it', () => {
    const anchor = scrollAnchor(rows, 36 * 10 + 12, 36)!;
    expect(anchor).toEqual({ id: 'i10', offset: 12 });
    const after = ['new1', 'new2', ...ids];
    expect(anchoredScrollTop(anchor, (id) => after.indexOf(id), 36 * 10 + 12, 36)).toBe(36 * 12 + 12);
  });

  it('stays put when the anchor row itself left the list', () => {
    const anchor = scrollAnchor(rows, 360, 36)!;
    expect(anchoredScrollTop(anchor, () => -1, 360, 36)).toBe(360);
  });
});

describe('scrollToReveal: the cursor row stays visible', () => {
  it('scrolls as little as possible', () => {
    expect(scrollToReveal(5, 0, 720, 36)).toBe(0);
    expect(scrollToReveal(20, 0, 720, 36)).toBe(21 * 36 - 720);
    expect(scrollToReveal(3, 360, 720, 36)).toBe(108);
  });
});
