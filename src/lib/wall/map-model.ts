/**
 * The topology map's geometry, apart from drawing: nodes in world units, the circles of their sites
 * and clients, links as index pairs, the transform that fits it all into a panel, and which level of
 * detail a zoom calls for. Pure.
 */
import { packEnclose } from 'd3';
import type { TopologyDto } from '../protocol/topology.ts';

export interface MapNode {
  id: string;
  name: string;
  kind: string;
  client: string;
  /** `client|siteId` ('' for no site). */
  site: string;
  parentId: string | null;
  x: number;
  y: number;
}

export interface MapGroup {
  key: string;
  name: string;
  client: string;
  x: number;
  y: number;
  r: number;
  /** Node ids. */
  members: string[];
}

export interface MapLink {
  id: string;
  /** Indexes into `nodes`. */
  a: number;
  b: number;
  utilisation: number | null;
}

export interface MapGeometry {
  nodes: MapNode[];
  indexById: Map<string, number>;
  sites: MapGroup[];
  clients: MapGroup[];
  links: MapLink[];
  bounds: { minX: number; minY: number; maxX: number; maxY: number };
}

export interface Transform {
  k: number;
  x: number;
  y: number;
}

/** Node radius in world units (the layout spaces linked nodes 28 apart). */
export const NODE_R = 7;
const SITE_PAD = 14;
const CLIENT_PAD = 30;

function enclose(points: { x: number; y: number }[], pad: number): { x: number; y: number; r: number } {
  if (points.length === 0) return { x: 0, y: 0, r: 0 };
  const circle = packEnclose(points.map((p) => ({ x: p.x, y: p.y, r: NODE_R }))) ?? { x: points[0].x, y: points[0].y, r: NODE_R };
  return { x: circle.x, y: circle.y, r: circle.r + pad };
}

/**
 * Geometry of a topology (only positioned nodes; optionally one client). Sites and clients are the
 * smallest circles around their nodes, so they follow wherever the layout or an operator put them.
 */
export function buildGeometry(topology: TopologyDto, options: { client?: string; aspect?: number } = {}): MapGeometry {
  const nodes: MapNode[] = [];
  const indexById = new Map<string, number>();
  for (const n of topology.nodes) {
    if (n.x === null || n.y === null) continue;
    if (options.client && n.client !== options.client) continue;
    indexById.set(n.id, nodes.length);
    nodes.push({ id: n.id, name: n.name, kind: n.kind, client: n.client, site: `${n.client}|${n.siteId ?? ''}`, parentId: n.parentId, x: n.x, y: n.y });
  }
  const siteNames = new Map(topology.sites.map((s) => [`${s.client}|${s.id}`, s.name]));
  const clientNames = new Map(topology.clients.map((c) => [c.slug, c.name]));
  const bySite = new Map<string, MapNode[]>();
  const byClient = new Map<string, MapNode[]>();
  const push = <T>(map: Map<string, T[]>, key: string, value: T) => {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  };
  for (const n of nodes) {
    push(bySite, n.site, n);
    push(byClient, n.client, n);
  }
  const sites: MapGroup[] = [...bySite].map(([key, members]) => ({
    key,
    name: siteNames.get(key) ?? 'No site',
    client: members[0].client,
    ...enclose(members, SITE_PAD),
    members: members.map((m) => m.id),
  }));
  const clients: MapGroup[] = [...byClient].map(([slug, members]) => {
    const siteCircles = sites.filter((s) => s.client === slug);
    const circle = packEnclose(siteCircles.map((s) => ({ x: s.x, y: s.y, r: s.r }))) ?? enclose(members, 0);
    return { key: slug, name: clientNames.get(slug) ?? slug, client: slug, x: circle.x, y: circle.y, r: circle.r + CLIENT_PAD, members: members.map((m) => m.id) };
  });
  if (options.aspect && clients.length > 1) arrangeClients(nodes, sites, clients, options.aspect);
  const links: MapLink[] = [];
  for (const l of topology.links) {
    const a = indexById.get(l.from);
    const b = indexById.get(l.to);
    if (a !== undefined && b !== undefined) links.push({ id: l.id, a, b, utilisation: l.utilisation });
  }
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const c of clients) {
    minX = Math.min(minX, c.x - c.r);
    minY = Math.min(minY, c.y - c.r);
    maxX = Math.max(maxX, c.x + c.r);
    maxY = Math.max(maxY, c.y + c.r);
  }
  if (!Number.isFinite(minX)) [minX, minY, maxX, maxY] = [-100, -100, 100, 100];
  return { nodes, indexById, sites, clients, links, bounds: { minX, minY, maxX, maxY } };
}

/**
 * Moves whole clients (their nodes and sites together, each keeping its inner layout) into rows that
 * fill a panel of the given width:height. Stored positions arrange clients for no panel in particular;
 * a wide wall panel would otherwise show a small square of map in a sea of black.
 */
function arrangeClients(nodes: MapNode[], sites: MapGroup[], clients: MapGroup[], aspect: number): void {
  const gap = CLIENT_PAD;
  const order = [...clients.keys()].sort((a, b) => clients[b].r - clients[a].r || (clients[a].key < clients[b].key ? -1 : 1));
  // Try every row count; keep the one whose bounding box wastes least of the panel.
  let best: { scale: number; places: Map<number, { x: number; y: number }> } | null = null;
  for (let rows = 1; rows <= clients.length; rows++) {
    const perRow = Math.ceil(clients.length / rows);
    const places = new Map<number, { x: number; y: number }>();
    let y = 0;
    let width = 0;
    for (let r = 0; r < rows; r++) {
      const members = order.slice(r * perRow, (r + 1) * perRow);
      if (members.length === 0) break;
      const height = Math.max(...members.map((i) => 2 * clients[i].r));
      let x = 0;
      for (const i of members) {
        places.set(i, { x: x + clients[i].r, y: y + height / 2 });
        x += 2 * clients[i].r + gap;
      }
      width = Math.max(width, x - gap);
      y += height + gap;
    }
    const height = y - gap;
    const scale = Math.min(aspect / width, 1 / height);
    if (!best || scale > best.scale) best = { scale, places };
  }
  const shift = new Map<string, { dx: number; dy: number }>();
  for (const [i, p] of best!.places) {
    shift.set(clients[i].key, { dx: p.x - clients[i].x, dy: p.y - clients[i].y });
    clients[i].x = p.x;
    clients[i].y = p.y;
  }
  for (const n of nodes) {
    const s = shift.get(n.client)!;
    n.x += s.dx;
    n.y += s.dy;
  }
  for (const site of sites) {
    const s = shift.get(site.client)!;
    site.x += s.dx;
    site.y += s.dy;
  }
}

/** Scale and offset that fit `bounds` into a width × height box with `padding` px on each side. */
export function fitTransform(bounds: MapGeometry['bounds'], width: number, height: number, padding = 12): Transform {
  const w = Math.max(1, bounds.maxX - bounds.minX);
  const h = Math.max(1, bounds.maxY - bounds.minY);
  const k = Math.max(1e-4, Math.min((width - 2 * padding) / w, (height - 2 * padding) / h));
  return { k, x: width / 2 - k * (bounds.minX + w / 2), y: height / 2 - k * (bounds.minY + h / 2) };
}

export type DetailLevel = 'nodes' | 'sites' | 'clients';

/**
 * Zoomed out, nodes would be specks: below ~2.6 px of radius each site collapses into one mark, and
 * when sites are specks too, each client does. `minGroupPx` is the smallest site radius on screen.
 */
export function detailLevel(k: number, smallestSiteR: number): DetailLevel {
  if (k * NODE_R >= 2.6) return 'nodes';
  if (k * smallestSiteR >= 12) return 'sites';
  return 'clients';
}

/** World point under a screen point. */
export function toWorld(t: Transform, sx: number, sy: number): { x: number; y: number } {
  return { x: (sx - t.x) / t.k, y: (sy - t.y) / t.k };
}

/** The node nearest a world point within `radius` world units, or null. */
export function nodeAt(geometry: MapGeometry, x: number, y: number, radius: number): MapNode | null {
  let best: MapNode | null = null;
  let bestD = radius * radius;
  for (const n of geometry.nodes) {
    const d = (n.x - x) ** 2 + (n.y - y) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = n;
    }
  }
  return best;
}
