/**
 * Draws the topology map on a 2D canvas. State is shown by colour AND shape (critical square, high
 * diamond, warning triangle, info and ok circles, unreachable a dashed ring, suppressed a slashed
 * disc), so it reads without colour too. Everything of one look is drawn as one path: thousands of
 * nodes and links cost a few fills and strokes, not thousands.
 */
import { NODE_R, detailLevel, type DetailLevel, type MapGeometry, type MapGroup, type Transform } from './map-model.ts';
import { STATE_ORDER, summariseGroup, type GroupStatus, type NodeState, type NodeStatus } from './node-states.ts';

/** Colour-blind-safe (Okabe–Ito based, as the app's CSS); never the only cue. */
export const STATE_COLOUR: Record<NodeState, string> = {
  critical: '#ff6b5b',
  high: '#ffa23a',
  warning: '#f2d74c',
  info: '#62b6f0',
  ok: '#3ecf8e',
  unreachable: '#a3b1c2',
  suppressed: '#6b7a8c',
};

export const STATE_LABEL: Record<NodeState, string> = {
  critical: 'Critical',
  high: 'High',
  warning: 'Warning',
  info: 'Info',
  ok: 'OK',
  unreachable: 'Unreachable',
  suppressed: 'Suppressed',
};

/** Link load bands: colour and width both rise with utilisation. */
const LINK_BANDS: { max: number; colour: string; width: number }[] = [
  { max: 0.5, colour: '#4f6f8f', width: 1 },
  { max: 0.75, colour: '#d8c24a', width: 1.6 },
  { max: 0.9, colour: '#f0962e', width: 2.4 },
  { max: Infinity, colour: '#ff6b5b', width: 3.4 },
];
const LINK_UNKNOWN = { colour: '#33455a', width: 1 };

export function linkBand(utilisation: number | null): { colour: string; width: number } {
  if (utilisation === null) return LINK_UNKNOWN;
  return LINK_BANDS.find((b) => utilisation < b.max) ?? LINK_BANDS[LINK_BANDS.length - 1];
}

export interface MapDrawOptions {
  width: number;
  height: number;
  /** Device pixels per CSS pixel. */
  dpr: number;
  transform: Transform;
  statuses: Map<string, NodeStatus>;
  /** Link utilisation overrides (live metric), by link id. */
  utilisation?: Map<string, number | null>;
  /** Node id → when its pulse started (epoch ms). */
  pulses?: Map<string, number>;
  now: number;
  /** Force a level of detail (benchmarks, tests); else from the zoom. */
  detail?: DetailLevel;
  hoverId?: string | null;
  /** Nodes moved by hand but not saved yet. */
  dirty?: Set<string>;
  /** CSS px of the base label font. */
  fontPx: number;
  /** Names of ok nodes too (when there is room). */
  labelAll?: boolean;
}

export const PULSE_MS = 1500;
export const PULSES = 3;

type Shape = 'square' | 'diamond' | 'triangle' | 'circle' | 'ring' | 'slashed';
const SHAPE: Record<NodeState, Shape> = {
  critical: 'square',
  high: 'diamond',
  warning: 'triangle',
  info: 'circle',
  ok: 'circle',
  unreachable: 'ring',
  suppressed: 'slashed',
};
/** Size relative to the node radius: problems stand out. */
const SCALE: Record<NodeState, number> = { critical: 1.35, high: 1.2, warning: 1.15, info: 0.95, ok: 0.8, unreachable: 0.95, suppressed: 0.85 };

function addShape(ctx: CanvasRenderingContext2D, shape: Shape, x: number, y: number, r: number): void {
  switch (shape) {
    case 'square':
      ctx.rect(x - r * 0.88, y - r * 0.88, r * 1.76, r * 1.76);
      break;
    case 'diamond':
      ctx.moveTo(x, y - r * 1.15);
      ctx.lineTo(x + r * 1.15, y);
      ctx.lineTo(x, y + r * 1.15);
      ctx.lineTo(x - r * 1.15, y);
      ctx.closePath();
      break;
    case 'triangle':
      ctx.moveTo(x, y - r * 1.15);
      ctx.lineTo(x + r * 1.1, y + r * 0.85);
      ctx.lineTo(x - r * 1.1, y + r * 0.85);
      ctx.closePath();
      break;
    default:
      ctx.moveTo(x + r, y);
      ctx.arc(x, y, r, 0, Math.PI * 2);
  }
}

/** One shape, filled and outlined as its state draws it (legends, collapsed groups). */
export function drawStateMark(ctx: CanvasRenderingContext2D, state: NodeState, x: number, y: number, r: number, acknowledged = false): void {
  const shape = SHAPE[state];
  ctx.beginPath();
  addShape(ctx, shape, x, y, r);
  const colour = STATE_COLOUR[state];
  if (shape === 'ring') {
    ctx.setLineDash([r * 0.6, r * 0.45]);
    ctx.lineWidth = Math.max(1, r * 0.35);
    ctx.strokeStyle = colour;
    ctx.stroke();
    ctx.setLineDash([]);
    return;
  }
  ctx.globalAlpha = acknowledged ? 0.45 : 1;
  ctx.fillStyle = colour;
  ctx.fill();
  ctx.globalAlpha = 1;
  if (acknowledged) {
    ctx.lineWidth = Math.max(1, r * 0.25);
    ctx.strokeStyle = colour;
    ctx.stroke();
  }
  if (shape === 'slashed') {
    ctx.beginPath();
    ctx.moveTo(x - r * 0.7, y + r * 0.7);
    ctx.lineTo(x + r * 0.7, y - r * 0.7);
    ctx.lineWidth = Math.max(1, r * 0.3);
    ctx.strokeStyle = '#0b0f14';
    ctx.stroke();
  }
}

function smallestSite(geometry: MapGeometry): number {
  let r = Infinity;
  for (const s of geometry.sites) r = Math.min(r, s.r);
  return Number.isFinite(r) ? r : 50;
}

/**
 * The layer over the map that moves on its own: pulses of new criticals and the hover ring. Drawn on
 * a canvas of its own every frame while a pulse runs, so the map itself is redrawn only when what it
 * shows changes. Returns true while something is still animating.
 */
export function drawOverlay(
  ctx: CanvasRenderingContext2D,
  g: MapGeometry,
  o: Pick<MapDrawOptions, 'width' | 'height' | 'dpr' | 'transform' | 'pulses' | 'now' | 'hoverId'> & { level: DetailLevel },
): boolean {
  const { dpr, transform: t } = o;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, o.width * dpr, o.height * dpr);
  ctx.setTransform(dpr * t.k, 0, 0, dpr * t.k, dpr * t.x, dpr * t.y);
  const px = 1 / t.k;
  let animating = false;
  if (o.pulses && o.level === 'nodes') {
    ctx.lineWidth = 3 * px;
    for (const [id, started] of o.pulses) {
      const age = o.now - started;
      if (age > PULSE_MS * PULSES || age < 0) continue;
      const i = g.indexById.get(id);
      if (i === undefined) continue;
      animating = true;
      const phase = (age % PULSE_MS) / PULSE_MS;
      const n = g.nodes[i];
      ctx.beginPath();
      ctx.arc(n.x, n.y, NODE_R * (1.3 + phase * 3.2), 0, Math.PI * 2);
      ctx.strokeStyle = `rgba(255, 107, 91, ${0.9 * (1 - phase)})`;
      ctx.stroke();
    }
  }
  if (o.hoverId) {
    const i = g.indexById.get(o.hoverId);
    if (i !== undefined) {
      ctx.beginPath();
      ctx.arc(g.nodes[i].x, g.nodes[i].y, NODE_R * 2, 0, Math.PI * 2);
      ctx.lineWidth = 2 * px;
      ctx.strokeStyle = '#ffd24d';
      ctx.stroke();
    }
  }
  return animating;
}

/** Draws the whole map (pulses and hover go on the overlay); returns the level of detail it used. */
export function drawMap(ctx: CanvasRenderingContext2D, geometry: MapGeometry, o: MapDrawOptions): DetailLevel {
  const { dpr, transform: t } = o;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, o.width * dpr, o.height * dpr);
  ctx.setTransform(dpr * t.k, 0, 0, dpr * t.k, dpr * t.x, dpr * t.y);
  const px = 1 / t.k; // one CSS pixel in world units
  const level = o.detail ?? detailLevel(t.k, smallestSite(geometry));

  // Client and site circles: the nested groups.
  ctx.lineWidth = 1.5 * px;
  for (const c of geometry.clients) {
    ctx.beginPath();
    ctx.arc(c.x, c.y, c.r, 0, Math.PI * 2);
    ctx.fillStyle = 'rgba(120, 160, 210, 0.05)';
    ctx.fill();
    ctx.strokeStyle = 'rgba(150, 180, 220, 0.22)';
    ctx.stroke();
  }
  if (level === 'nodes') {
    ctx.setLineDash([5 * px, 4 * px]);
    ctx.strokeStyle = 'rgba(150, 180, 220, 0.16)';
    ctx.lineWidth = 1 * px;
    ctx.beginPath();
    for (const s of geometry.sites) {
      ctx.moveTo(s.x + s.r, s.y);
      ctx.arc(s.x, s.y, s.r, 0, Math.PI * 2);
    }
    ctx.stroke();
    ctx.setLineDash([]);
  }

  if (level === 'nodes') drawNodesLevel(ctx, geometry, o, px);
  else drawGroupsLevel(ctx, geometry, o, px, level === 'sites' ? geometry.sites : geometry.clients);

  // Group labels last, over everything.
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  for (const c of geometry.clients) label(ctx, c.name, c.x, c.y - c.r - 4 * px, o.fontPx * 1.25 * px, 700, '#dfe8f2');
  if (level === 'nodes') {
    // Inside the top of the site's circle: above it would collide with a one-site client's name.
    ctx.textBaseline = 'top';
    for (const s of geometry.sites) if (s.r * t.k > 40) label(ctx, s.name, s.x, s.y - s.r + 3 * px, o.fontPx * 0.85 * px, 600, '#9fb0c1');
  }
  return level;
}

function label(ctx: CanvasRenderingContext2D, text: string, x: number, y: number, size: number, weight: number, colour: string): void {
  ctx.font = `${weight} ${size}px system-ui, sans-serif`;
  ctx.lineWidth = size * 0.28;
  ctx.strokeStyle = 'rgba(11, 15, 20, 0.9)';
  ctx.lineJoin = 'round';
  ctx.strokeText(text, x, y);
  ctx.fillStyle = colour;
  ctx.fillText(text, x, y);
}

function drawNodesLevel(ctx: CanvasRenderingContext2D, g: MapGeometry, o: MapDrawOptions, px: number): void {
  const { statuses } = o;
  // Links, one stroke per band.
  const lineScale = Math.min(2.2, Math.max(0.7, o.transform.k * 0.9));
  const bands = new Map<string, { colour: string; width: number; dashed: boolean; segments: number[] }>();
  for (const l of g.links) {
    const u = o.utilisation?.has(l.id) ? o.utilisation.get(l.id)! : l.utilisation;
    const band = linkBand(u);
    const a = g.nodes[l.a];
    const b = g.nodes[l.b];
    const dashed = statuses.get(a.id)?.state === 'unreachable' || statuses.get(b.id)?.state === 'unreachable';
    const key = `${band.colour}|${dashed}`;
    let entry = bands.get(key);
    if (!entry) bands.set(key, (entry = { ...band, dashed, segments: [] }));
    entry.segments.push(a.x, a.y, b.x, b.y);
  }
  for (const band of bands.values()) {
    ctx.beginPath();
    const s = band.segments;
    for (let i = 0; i < s.length; i += 4) {
      ctx.moveTo(s[i], s[i + 1]);
      ctx.lineTo(s[i + 2], s[i + 3]);
    }
    ctx.lineWidth = band.width * lineScale * px;
    ctx.strokeStyle = band.colour;
    ctx.setLineDash(band.dashed ? [4 * px, 3 * px] : []);
    ctx.stroke();
  }
  ctx.setLineDash([]);

  // Nodes: one path per (state, acknowledged), calm ones first so problems sit on top.
  const r = NODE_R;
  const batches = new Map<string, number[]>();
  for (let i = 0; i < g.nodes.length; i++) {
    const s = statuses.get(g.nodes[i].id);
    const key = `${s?.state ?? 'ok'}|${s?.acknowledged ? 1 : 0}`;
    let list = batches.get(key);
    if (!list) batches.set(key, (list = []));
    list.push(i);
  }
  for (const state of [...STATE_ORDER].reverse()) {
    for (const ack of [0, 1]) {
      const list = batches.get(`${state}|${ack}`);
      if (!list) continue;
      const shape = SHAPE[state];
      const size = r * SCALE[state];
      ctx.beginPath();
      for (const i of list) addShape(ctx, shape, g.nodes[i].x, g.nodes[i].y, size);
      const colour = STATE_COLOUR[state];
      if (shape === 'ring') {
        ctx.fillStyle = '#0b0f14';
        ctx.fill();
        ctx.setLineDash([size * 0.6, size * 0.45]);
        ctx.lineWidth = size * 0.35;
        ctx.strokeStyle = colour;
        ctx.stroke();
        ctx.setLineDash([]);
        continue;
      }
      ctx.globalAlpha = ack ? 0.45 : state === 'ok' ? 0.85 : 1;
      ctx.fillStyle = colour;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.lineWidth = Math.max(1 * px, size * 0.18);
      ctx.strokeStyle = ack ? colour : 'rgba(11, 15, 20, 0.85)';
      ctx.stroke();
      if (shape === 'slashed') {
        ctx.beginPath();
        for (const i of list) {
          const n = g.nodes[i];
          ctx.moveTo(n.x - size * 0.7, n.y + size * 0.7);
          ctx.lineTo(n.x + size * 0.7, n.y - size * 0.7);
        }
        ctx.lineWidth = size * 0.3;
        ctx.strokeStyle = '#0b0f14';
        ctx.stroke();
      }
    }
  }

  // Unsaved moves.
  if (o.dirty?.size) {
    ctx.beginPath();
    for (const id of o.dirty) {
      const i = g.indexById.get(id);
      if (i === undefined) continue;
      ctx.moveTo(g.nodes[i].x + r * 1.7, g.nodes[i].y);
      ctx.arc(g.nodes[i].x, g.nodes[i].y, r * 1.7, 0, Math.PI * 2);
    }
    ctx.setLineDash([3 * px, 2 * px]);
    ctx.lineWidth = 1.5 * px;
    ctx.strokeStyle = '#5aa9ff';
    ctx.stroke();
    ctx.setLineDash([]);
  }

  // Names: of nodes in trouble first (worst first), then of the others when there is room; a name that
  // would cover one already written is left out.
  const onScreenR = r * o.transform.k;
  const roomy = o.labelAll !== false && onScreenR >= 9 && g.nodes.length <= 600;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const size = o.fontPx * 0.8 * px;
  const candidates = g.nodes
    .map((n) => ({ n, state: statuses.get(n.id)?.state ?? 'ok' }))
    .filter(({ state }) => roomy || (state !== 'ok' && state !== 'suppressed' && state !== 'unreachable'))
    .sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state));
  if (candidates.length > 400) candidates.length = 400;
  // Names of calm nodes never cover a node in trouble (its shape is the message); names of nodes in
  // trouble are always written unless another name is in the way.
  type Box = [number, number, number, number];
  const shapes: Box[] = [];
  const taken: Box[] = [];
  for (const n of g.nodes) {
    const state = statuses.get(n.id)?.state ?? 'ok';
    if (state === 'ok') continue;
    const s = r * SCALE[state] * 1.2;
    shapes.push([n.x - s, n.y - s, n.x + s, n.y + s]);
  }
  const overlaps = (box: Box, list: Box[]) => list.some((t) => box[0] < t[2] && t[0] < box[2] && box[1] < t[3] && t[1] < box[3]);
  for (const { n, state } of candidates) {
    const alarming = state !== 'ok' && state !== 'suppressed' && state !== 'unreachable';
    const fontSize = alarming ? size * 1.1 : size;
    ctx.font = `${alarming ? 700 : 500} ${fontSize}px system-ui, sans-serif`;
    const w = ctx.measureText(n.name).width;
    const top = n.y + r * SCALE[state] * 1.25 + 2 * px; // just below its own shape, clear of it
    const box: [number, number, number, number] = [n.x - w / 2, top, n.x + w / 2, top + fontSize];
    if (overlaps(box, taken) || (!alarming && overlaps(box, shapes))) continue;
    taken.push(box);
    label(ctx, n.name, n.x, box[1], fontSize, alarming ? 700 : 500, alarming ? '#f3f6f9' : '#8fa2b5');
  }
}

/** "1 critical · 28 unreachable", "29 ok": the two most alarming states of a collapsed group. */
export function describeGroup(s: GroupStatus): string {
  if (s.alerting === 0) return `${s.total} ok`;
  const parts = STATE_ORDER.filter((state) => state !== 'ok' && s.byState[state]).map((state) => `${s.byState[state]} ${STATE_LABEL[state].toLowerCase()}`);
  return parts.slice(0, 2).join(' · ') + (parts.length > 2 ? ' · …' : '');
}

function drawGroupsLevel(ctx: CanvasRenderingContext2D, g: MapGeometry, o: MapDrawOptions, px: number, groups: MapGroup[]): void {
  // Links between groups: one line per pair of groups that share any.
  const groupOf = new Map<string, number>();
  groups.forEach((grp, i) => grp.members.forEach((id) => groupOf.set(id, i)));
  const pairs = new Set<string>();
  ctx.beginPath();
  for (const l of g.links) {
    const a = groupOf.get(g.nodes[l.a].id);
    const b = groupOf.get(g.nodes[l.b].id);
    if (a === undefined || b === undefined || a === b) continue;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    if (pairs.has(key)) continue;
    pairs.add(key);
    ctx.moveTo(groups[a].x, groups[a].y);
    ctx.lineTo(groups[b].x, groups[b].y);
  }
  ctx.lineWidth = 1.5 * px;
  ctx.strokeStyle = '#4f6f8f';
  ctx.stroke();

  const summaries: GroupStatus[] = groups.map((grp) => summariseGroup(grp.members, o.statuses));
  groups.forEach((grp, i) => {
    const s = summaries[i];
    const markR = Math.max(10 * px, Math.min(grp.r * 0.55, 26 * px));
    ctx.beginPath();
    ctx.arc(grp.x, grp.y, Math.max(grp.r * 0.9, markR * 1.4), 0, Math.PI * 2);
    ctx.fillStyle = s.state === 'ok' ? 'rgba(62, 207, 142, 0.08)' : `${STATE_COLOUR[s.state]}26`;
    ctx.fill();
    drawStateMark(ctx, s.state, grp.x, grp.y, markR);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const size = o.fontPx * 0.85 * px;
    label(ctx, grp.name, grp.x, grp.y + markR * 1.5, size, 600, '#dfe8f2');
    label(ctx, describeGroup(s), grp.x, grp.y + markR * 1.5 + size * 1.25, size * 0.9, 500, s.alerting ? STATE_COLOUR[s.state] : '#8fa2b5');
  });
}
