/**
 * Topology layout: clients → sites → nodes as nested circles, nodes placed by d3-force within their
 * site, sites packed within their client, clients packed side by side. Pure and deterministic (same
 * input, same output: d3-force seeds its own random source), so it runs the same in a Web Worker,
 * on the server (worker thread) and in unit tests. No `$lib` imports: the server imports this file.
 */
import { forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY, packEnclose, packSiblings, type SimulationNodeDatum } from 'd3';

export interface LayoutNode {
  id: string;
  /** Client slug. */
  client: string;
  /** Site id, or null for nodes without a site. */
  site: string | null;
  /** Stored position, or null. */
  x: number | null;
  y: number | null;
  /** Hand-placed: never moved. */
  pinned: boolean;
}

export interface LayoutLink {
  from: string;
  to: string;
}

export interface Point {
  x: number;
  y: number;
}

export interface LayoutOptions {
  /** Lay out every node that is not pinned again, from scratch. @default false */
  full?: boolean;
}

/** Distance between linked nodes, in map units (the map scales to fit anyway). */
export const LINK_DISTANCE = 24;
const NODE_RADIUS = 8;
const SITE_PADDING = 14;
const CLIENT_PADDING = 34;
/** Clients are shelved in rows towards this width:height, the shape of a wall panel. */
const TARGET_ASPECT = 1.9;

interface SimNode extends SimulationNodeDatum {
  id: string;
}

/** A small stable hash, for deterministic nudges. */
function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Links in a fixed order: the forces apply link by link, and the result must not depend on input order. */
function sortedLinks(links: LayoutLink[]): { source: string; target: string }[] {
  return links
    .map((l) => ({ source: l.from, target: l.to }))
    .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** d3-force over one group, centred on 0,0; returns positions and the group's radius. */
function forceGroup(members: LayoutNode[], links: LayoutLink[]): { positions: Map<string, Point>; radius: number } {
  const sim: SimNode[] = [...members].sort(byId).map((n) => ({ id: n.id }));
  const inGroup = new Set(sim.map((n) => n.id));
  const simLinks = sortedLinks(links.filter((l) => inGroup.has(l.from) && inGroup.has(l.to)));
  const ticks = sim.length > 2000 ? 80 : sim.length > 500 ? 150 : 300;
  forceSimulation(sim)
    .force('link', forceLink<SimNode, { source: string; target: string }>(simLinks).id((d) => d.id).distance(LINK_DISTANCE).strength(0.8))
    .force('charge', forceManyBody().strength(-45).distanceMax(LINK_DISTANCE * 10).theta(0.9))
    .force('collide', forceCollide(NODE_RADIUS * 1.35))
    .force('x', forceX(0).strength(0.08))
    .force('y', forceY(0).strength(0.08))
    .stop()
    .tick(ticks);
  const positions = new Map<string, Point>();
  let radius = NODE_RADIUS;
  for (const n of sim) {
    positions.set(n.id, { x: n.x ?? 0, y: n.y ?? 0 });
    radius = Math.max(radius, Math.hypot(n.x ?? 0, n.y ?? 0) + NODE_RADIUS);
  }
  return { positions, radius };
}

/** The whole map from scratch, except pinned nodes. */
function fullLayout(nodes: LayoutNode[], links: LayoutLink[]): Map<string, Point> {
  const out = new Map<string, Point>();
  const keeps = (n: LayoutNode) => n.pinned && n.x !== null && n.y !== null;
  const free = nodes.filter((n) => !keeps(n));
  // client → site key → members
  const clients = new Map<string, Map<string, LayoutNode[]>>();
  for (const n of free) {
    const sites = clients.get(n.client) ?? new Map<string, LayoutNode[]>();
    push(sites, n.site ?? '', n);
    clients.set(n.client, sites);
  }
  const clientCircles: { id: string; x: number; y: number; r: number; sites: { positions: Map<string, Point>; x: number; y: number }[] }[] = [];
  for (const [client, sites] of [...clients].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const circles = [...sites]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, members]) => {
        const { positions, radius } = forceGroup(members, links);
        return { positions, x: 0, y: 0, r: radius + SITE_PADDING };
      });
    packSiblings(circles);
    const enclosing = packEnclose(circles) ?? { x: 0, y: 0, r: 0 };
    clientCircles.push({
      id: client,
      x: 0,
      y: 0,
      r: enclosing.r + CLIENT_PADDING,
      sites: circles.map((c) => ({ positions: c.positions, x: c.x - enclosing.x, y: c.y - enclosing.y })),
    });
  }
  shelve(clientCircles);
  for (const client of clientCircles) {
    for (const site of client.sites) {
      for (const [id, p] of site.positions) out.set(id, { x: round(client.x + site.x + p.x), y: round(client.y + site.y + p.y) });
    }
  }
  for (const n of nodes) if (keeps(n)) out.set(n.id, { x: n.x!, y: n.y! });
  return out;
}

const round = (v: number) => Math.round(v * 10) / 10;

/**
 * Places circles in rows (largest first), left to right, wrapping at a width that makes the whole
 * roughly TARGET_ASPECT wide: a wall panel is wide, and a round blob of clients would waste it.
 */
function shelve(circles: { x: number; y: number; r: number }[]): void {
  const gap = CLIENT_PADDING * 0.5;
  const area = circles.reduce((s, c) => s + (2 * c.r + gap) ** 2, 0);
  const rowWidth = Math.max(...circles.map((c) => 2 * c.r), Math.sqrt(area * TARGET_ASPECT));
  const order = [...circles.keys()].sort((a, b) => circles[b].r - circles[a].r || a - b);
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  for (const i of order) {
    const c = circles[i];
    if (x > 0 && x + 2 * c.r > rowWidth) {
      x = 0;
      y += rowHeight + gap;
      rowHeight = 0;
    }
    c.x = x + c.r;
    c.y = y + c.r;
    x += 2 * c.r + gap;
    rowHeight = Math.max(rowHeight, 2 * c.r);
  }
}

/**
 * New nodes among placed ones: each starts beside its placed neighbours (else its site, else its
 * client), then only the new ones move under the same forces while everything placed stays put.
 */
function incrementalLayout(nodes: LayoutNode[], links: LayoutLink[]): Map<string, Point> {
  const placed = new Map<string, Point>();
  for (const n of nodes) if (n.x !== null && n.y !== null) placed.set(n.id, { x: n.x, y: n.y });
  const neighbours = new Map<string, string[]>();
  for (const l of links) {
    push(neighbours, l.from, l.to);
    push(neighbours, l.to, l.from);
  }
  const centroid = (points: Point[]): Point | null =>
    points.length === 0 ? null : { x: points.reduce((s, p) => s + p.x, 0) / points.length, y: points.reduce((s, p) => s + p.y, 0) / points.length };
  const bySite = new Map<string, Point[]>();
  const byClient = new Map<string, Point[]>();
  for (const n of nodes) {
    const p = placed.get(n.id);
    if (!p) continue;
    push(bySite, `${n.client}|${n.site ?? ''}`, p);
    push(byClient, n.client, p);
  }
  let maxX = 0;
  for (const p of placed.values()) maxX = Math.max(maxX, p.x);
  const fresh = nodes.filter((n) => n.x === null || n.y === null).sort(byId);
  const start = new Map<string, Point>();
  fresh.forEach((n, i) => {
    const anchor =
      centroid((neighbours.get(n.id) ?? []).map((id) => placed.get(id)).filter((p): p is Point => p !== undefined)) ??
      centroid(bySite.get(`${n.client}|${n.site ?? ''}`) ?? []) ??
      centroid(byClient.get(n.client) ?? []) ?? { x: maxX + CLIENT_PADDING * 2, y: i * LINK_DISTANCE };
    const angle = ((hash(n.id) % 360) * Math.PI) / 180;
    start.set(n.id, { x: anchor.x + Math.cos(angle) * LINK_DISTANCE, y: anchor.y + Math.sin(angle) * LINK_DISTANCE });
  });
  // Simulate the new nodes and their placed neighbours (held fixed); the rest cannot move anyway.
  const involved = new Set(fresh.map((n) => n.id));
  for (const n of fresh) for (const m of neighbours.get(n.id) ?? []) involved.add(m);
  const sim: SimNode[] = [...involved].sort().map((id) => {
    const fixed = placed.get(id);
    const s = start.get(id);
    return fixed ? { id, x: fixed.x, y: fixed.y, fx: fixed.x, fy: fixed.y } : { id, x: s!.x, y: s!.y };
  });
  const simLinks = sortedLinks(links.filter((l) => involved.has(l.from) && involved.has(l.to)));
  forceSimulation(sim)
    .force('link', forceLink<SimNode, { source: string; target: string }>(simLinks).id((d) => d.id).distance(LINK_DISTANCE))
    .force('charge', forceManyBody().strength(-40).distanceMax(LINK_DISTANCE * 6))
    .force('collide', forceCollide(NODE_RADIUS * 1.4))
    .stop()
    .tick(120);
  const out = new Map(placed);
  for (const n of sim) if (!placed.has(n.id)) out.set(n.id, { x: round(n.x ?? 0), y: round(n.y ?? 0) });
  return out;
}

/**
 * Positions for every node. Nodes that have a position keep it (unless `full`); pinned nodes always do.
 * When most nodes are new, everything unpinned is laid out from scratch.
 */
export function layoutTopology(nodes: LayoutNode[], links: LayoutLink[], options: LayoutOptions = {}): Map<string, Point> {
  const missing = nodes.filter((n) => n.x === null || n.y === null).length;
  if (!options.full && missing === 0) return new Map(nodes.map((n) => [n.id, { x: n.x!, y: n.y! }]));
  if (options.full || missing > nodes.length / 2) return fullLayout(nodes, links);
  return incrementalLayout(nodes, links);
}
