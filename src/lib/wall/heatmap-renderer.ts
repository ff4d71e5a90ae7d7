/**
 * The uptime heatmap on a 2D canvas: per client a summary row (against the client's target) and its
 * nodes' rows; columns are hours or days. Rows that do not fit are dropped healthiest first and
 * counted ("+12 nodes at 100 %"), never squeezed below readability. Layout (pure) apart from drawing.
 */
import type { UptimeDto } from '../protocol/uptime.ts';
import { uptimeColourFast, LEGEND_TICKS, badness } from './uptime-colour.ts';
import { interpolateCividis } from 'd3';
import { HOUR_MS, addDays, localCalendar } from '../domain/local-days.ts';

export interface HeatmapRow {
  kind: 'summary' | 'node' | 'more';
  client: string;
  label: string;
  /** Availability over the range (summary and node rows). */
  availability: number | null;
  target: number | null;
  cells: number[] | null;
  y: number;
  h: number;
}

export interface HeatmapLayout {
  rows: HeatmapRow[];
  labelWidth: number;
  valueWidth: number;
  gridX: number;
  gridW: number;
  axisH: number;
  legendH: number;
  cellW: number;
  /** Nodes left out for lack of room. */
  hidden: number;
}

/**
 * Where every row goes in a width × height box. Summary rows are 1.6× a node row; node rows are at
 * least `minRowPx` high (labels only when ≥ 1.1 em). When nodes do not fit, each client keeps its
 * worst nodes.
 */
export function layoutHeatmap(data: UptimeDto, width: number, height: number, fontPx: number, minRowPx = 3): HeatmapLayout {
  const axisH = Math.round(fontPx * 1.6);
  const legendH = Math.round(fontPx * 1.7);
  const labelWidth = Math.round(Math.min(width * 0.26, fontPx * 11));
  const valueWidth = Math.round(fontPx * 5.2);
  const gridX = labelWidth;
  const gridW = Math.max(10, width - labelWidth - valueWidth);
  const available = height - axisH - legendH;
  const gap = Math.round(fontPx * 0.35);
  const clients = data.clients;
  const summaryH = Math.max(fontPx * 1.5, 14);
  const fixed = clients.length * (summaryH + gap);
  const nodeRows = data.rows.length;
  // How many node rows fit at the smallest readable height, and at what height all would.
  let rowH = nodeRows === 0 ? 0 : Math.min(fontPx * 1.3, (available - fixed) / nodeRows);
  let budget = nodeRows;
  if (nodeRows > 0 && rowH < minRowPx) {
    rowH = minRowPx;
    budget = Math.max(0, Math.floor((available - fixed - clients.length * fontPx * 1.2) / minRowPx));
  }
  // Per client, its worst nodes first, within the budget (shared in proportion to size).
  const byClient = new Map<string, UptimeDto['rows']>();
  for (const r of data.rows) {
    const list = byClient.get(r.client);
    if (list) list.push(r);
    else byClient.set(r.client, [r]);
  }
  const rows: HeatmapRow[] = [];
  let y = axisH;
  let hidden = 0;
  for (const c of clients) {
    rows.push({ kind: 'summary', client: c.slug, label: c.name, availability: c.availability, target: c.uptimeTarget, cells: c.cells, y, h: summaryH });
    y += summaryH;
    const mine = byClient.get(c.slug) ?? [];
    const share = budget >= nodeRows ? mine.length : Math.floor((budget * mine.length) / Math.max(1, nodeRows));
    // Short of room, a client shows only its nodes that had downtime, worst first.
    const shown =
      share >= mine.length
        ? mine
        : mine
            .filter((r) => r.availability < 1)
            .sort((a, b) => a.availability - b.availability || a.name.localeCompare(b.name))
            .slice(0, share);
    for (const r of shown) {
      rows.push({ kind: 'node', client: c.slug, label: r.name, availability: r.availability, target: null, cells: r.cells, y, h: rowH });
      y += rowH;
    }
    if (shown.length < mine.length) {
      const left = mine.length - shown.length;
      const allFine = mine.filter((r) => !shown.includes(r)).every((r) => r.availability >= 1);
      hidden += left;
      rows.push({ kind: 'more', client: c.slug, label: allFine ? `${shown.length ? '+' : ''}${left} nodes at 100%` : `+${left} more nodes`, availability: null, target: null, cells: null, y, h: fontPx * 1.2 });
      y += fontPx * 1.2;
    }
    y += gap;
  }
  // Room left over goes first to the node rows shown (up to a readable 1.2 em, with their names),
  // then to the summary rows (up to 2.4 em): the client lines are what a glance reads.
  let spare = axisH + available - y;
  const shownNodes = rows.filter((r) => r.kind === 'node').length;
  const growNode = shownNodes && spare > 0 ? Math.max(0, Math.min(spare / shownNodes, fontPx * 1.2 - rowH)) : 0;
  spare -= growNode * shownNodes;
  const growSummary = clients.length && spare > 0 ? Math.max(0, Math.min(spare / clients.length, fontPx * 2.4 - summaryH)) : 0;
  let offset = 0;
  for (const row of rows) {
    row.y += offset;
    const grow = row.kind === 'node' ? growNode : row.kind === 'summary' ? growSummary : 0;
    row.h += grow;
    offset += grow;
  }
  return { rows, labelWidth, valueWidth, gridX, gridW, axisH, legendH, cellW: gridW / Math.max(1, data.buckets), hidden };
}

export function formatAvailability(a: number): string {
  if (a >= 0.99995) return '100%';
  const pct = a * 100;
  return `${pct >= 99 ? pct.toFixed(2) : pct >= 10 ? pct.toFixed(1) : pct.toFixed(1)}%`;
}

/**
 * Where the axis marks a new day (7 d: the first hour of each local day) or a new month (90 d), in the
 * data's time zone, so the marks fall on the NOC's midnights, not Greenwich's.
 */
export function heatmapTicks(data: UptimeDto): { i: number; text: string }[] {
  const calendar = localCalendar(data.timeZone);
  const from = Date.parse(data.from);
  const ticks: { i: number; text: string }[] = [];
  if (data.bucketSeconds === 3600) {
    const label = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', timeZone: data.timeZone });
    let previous = calendar.dayOf(from - HOUR_MS);
    for (let i = 0; i < data.buckets; i++) {
      const start = from + i * HOUR_MS;
      const day = calendar.dayOf(start);
      if (day !== previous) ticks.push({ i, text: label.format(start) });
      previous = day;
    }
  } else {
    // Day buckets are calendar days, 23 to 25 hours long: counted by date, not by milliseconds.
    const first = calendar.dayOf(from);
    const month = new Intl.DateTimeFormat('en-GB', { month: 'short', timeZone: 'UTC' });
    for (let i = 0; i < data.buckets; i++) {
      const day = addDays(first, i);
      if (day.endsWith('-01')) ticks.push({ i, text: month.format(Date.parse(`${day}T12:00:00Z`)) });
    }
  }
  return ticks;
}

/** Draws the heatmap. */
export function drawHeatmap(ctx: CanvasRenderingContext2D, data: UptimeDto, layout: HeatmapLayout, o: { width: number; height: number; dpr: number; fontPx: number }): void {
  const { dpr, fontPx } = o;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, o.width, o.height);
  const { gridX, gridW, cellW } = layout;

  // Axis: day boundaries (7 d) or month starts (90 d).
  ctx.font = `500 ${fontPx * 0.78}px system-ui, sans-serif`;
  ctx.fillStyle = '#9fb0c1';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  const ticks = heatmapTicks(data);
  ctx.strokeStyle = 'rgba(160, 180, 200, 0.25)';
  ctx.lineWidth = 1;
  const bottom = layout.rows.length ? layout.rows[layout.rows.length - 1].y + layout.rows[layout.rows.length - 1].h : layout.axisH;
  for (const tick of ticks) {
    const x = Math.round(gridX + tick.i * cellW) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, layout.axisH * 0.75);
    ctx.lineTo(x, bottom);
    ctx.stroke();
    if (x + fontPx * 3 < gridX + gridW) ctx.fillText(tick.text, x + 3, layout.axisH * 0.4);
  }

  // Cells: row by row, one fillRect per run of equal colour.
  for (const row of layout.rows) {
    if (row.kind === 'more') {
      ctx.textAlign = 'left';
      ctx.fillStyle = '#74869a';
      ctx.font = `italic 500 ${fontPx * 0.72}px system-ui, sans-serif`;
      ctx.fillText(row.label, gridX + 4, row.y + row.h / 2);
      continue;
    }
    const cells = row.cells!;
    const h = Math.max(1, row.kind === 'summary' ? row.h - 2 : row.h - (row.h >= 6 ? 1 : 0));
    let runStart = 0;
    let runColour = '';
    const flush = (end: number) => {
      if (runColour === '' || end <= runStart) return;
      ctx.fillStyle = runColour;
      const x0 = Math.floor(gridX + runStart * cellW);
      const x1 = Math.floor(gridX + end * cellW);
      ctx.fillRect(x0, row.y, Math.max(1, x1 - x0), h);
    };
    // The range ends with the bucket that holds generatedAt: every cell has begun.
    const lastCell = cells.length;
    for (let i = 0; i < lastCell; i++) {
      const colour = uptimeColourFast(cells[i]);
      if (colour !== runColour) {
        flush(i);
        runStart = i;
        runColour = colour;
      }
    }
    flush(lastCell);

    // Labels and values.
    const summary = row.kind === 'summary';
    const labelSize = summary ? fontPx * 0.95 : Math.min(fontPx * 0.75, row.h * 0.85);
    if (summary || row.h >= fontPx * 0.62) {
      ctx.textAlign = 'left';
      ctx.font = `${summary ? 700 : 500} ${labelSize}px system-ui, sans-serif`;
      ctx.fillStyle = summary ? '#e6edf3' : '#b9c6d3';
      ctx.fillText(fit(ctx, row.label, layout.labelWidth - fontPx * (summary ? 0.3 : 0.9)), summary ? 0 : fontPx * 0.6, row.y + row.h / 2);
      ctx.textAlign = 'right';
      const a = row.availability!;
      const below = summary && row.target !== null && a * 100 < row.target;
      ctx.fillStyle = below ? '#ff6b5b' : summary ? '#e6edf3' : badness(a) > 0 ? '#f2d74c' : '#8fa2b5';
      ctx.font = `${summary ? 700 : 500} ${labelSize}px system-ui, sans-serif`;
      ctx.fillText(summary ? `${below ? '✗ ' : '✓ '}${formatAvailability(a)}` : formatAvailability(a), o.width - 2, row.y + row.h / 2);
    }
  }

  // Wide cells get a hairline between them, drawn once over all rows (not one rectangle per cell).
  if (cellW >= 6) {
    ctx.beginPath();
    for (let i = 1; i < data.buckets; i++) {
      const x = Math.floor(gridX + i * cellW) - 0.5;
      ctx.moveTo(x, layout.axisH);
      ctx.lineTo(x, bottom);
    }
    ctx.lineWidth = 1;
    ctx.strokeStyle = 'rgba(17, 24, 33, 0.9)';
    ctx.stroke();
  }

  // Legend: the scale, its ticks, the targets' meaning.
  const ly = o.height - layout.legendH + fontPx * 0.35;
  const lw = Math.min(gridW * 0.5, fontPx * 16);
  const lx = gridX;
  for (let i = 0; i < lw; i++) {
    ctx.fillStyle = interpolateCividis(0.12 + (i / lw) * 0.88);
    ctx.fillRect(lx + i, ly, 1.5, fontPx * 0.55);
  }
  ctx.font = `500 ${fontPx * 0.68}px system-ui, sans-serif`;
  ctx.fillStyle = '#9fb0c1';
  ctx.textBaseline = 'top';
  for (const tick of LEGEND_TICKS) {
    const x = lx + badness(tick.availability) * lw;
    ctx.textAlign = tick.availability === 1 ? 'left' : tick.availability === 0 ? 'right' : 'center';
    ctx.fillText(tick.label, x, ly + fontPx * 0.6);
  }
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.fillText('availability per cell  ·  ✓/✗ client against its target', lx + lw + fontPx, ly + fontPx * 0.3);
}

function fit(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= width) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}
