/**
 * Windowing maths for the virtualised queue: which rows to render for a scroll position, and how
 * to keep the rows people are looking at in place when live changes insert or remove rows above
 * them. Fixed row height; pure, so it is unit-tested without a browser.
 */

/** The console queue's fixed row height (px): the windowing maths depends on it, the CSS uses it. */
export const QUEUE_ROW_HEIGHT = 38;

export interface RowWindow {
  /** First row index to render (inclusive). */
  start: number;
  /** Last row index to render (exclusive). */
  end: number;
  /** Pixels of empty space above the first rendered row. */
  offsetTop: number;
  /** Height of the whole list, rendered or not. */
  totalHeight: number;
}

/**
 * The rows that intersect the viewport, plus at least `overscan` rows either side so a quick scroll
 * never shows blank space before the next frame. With `step` > 1 the window's edges move in steps of
 * that many rows: while scrolling, the DOM changes every `step` rows instead of at every row, and the
 * frames between only scroll (style, layout and paint of the list cost more than a few extra rows).
 */
export function rowWindow(scrollTop: number, viewportHeight: number, rowHeight: number, count: number, overscan = 8, step = 1): RowWindow {
  const totalHeight = count * rowHeight;
  if (count === 0 || rowHeight <= 0) return { start: 0, end: 0, offsetTop: 0, totalHeight };
  const top = Math.max(0, Math.min(scrollTop, Math.max(0, totalHeight - viewportHeight)));
  const first = Math.floor(top / rowHeight);
  const visible = Math.ceil((viewportHeight + (top % rowHeight)) / rowHeight);
  const start = Math.max(0, Math.floor((first - overscan) / step) * step);
  const end = Math.min(count, Math.ceil((first + Math.max(visible, 1) + overscan) / step) * step);
  return { start, end, offsetTop: start * rowHeight, totalHeight };
}

/** What a person sees at the top of the viewport: that row's id and how far it is scrolled past. */
export interface ScrollAnchor {
  id: string;
  /** Pixels of the anchor row hidden above the viewport (0 ≤ offset < rowHeight). */
  offset: number;
}

/** The anchor for a scroll position, or null at the very top (where new rows should push in and be seen). */
export function scrollAnchor(rows: readonly { id: string }[], scrollTop: number, rowHeight: number): ScrollAnchor | null {
  if (scrollTop <= 0 || rows.length === 0) return null;
  const index = Math.min(rows.length - 1, Math.floor(scrollTop / rowHeight));
  return { id: rows[index].id, offset: scrollTop - index * rowHeight };
}

/**
 * The scroll position that keeps `anchor` where it was after the list changed. When the anchor
 * row left the list, the position stays put (the rows around it move up by one at most).
 */
export function anchoredScrollTop(anchor: ScrollAnchor | null, indexOf: (id: string) => number, scrollTop: number, rowHeight: number): number {
  if (!anchor) return scrollTop;
  const index = indexOf(anchor.id);
  if (index < 0) return scrollTop;
  return index * rowHeight + anchor.offset;
}

/** The scroll position that brings row `index` fully into view, moving as little as possible. */
export function scrollToReveal(index: number, scrollTop: number, viewportHeight: number, rowHeight: number): number {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportHeight) return Math.max(0, bottom - viewportHeight);
  return scrollTop;
}
