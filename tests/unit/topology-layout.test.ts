import { describe, expect, it } from 'vitest';
import { layoutTopology, type LayoutLink, type LayoutNode } from '../../src/lib/wall/topology-layout.ts';
import { buildGeometry, detailLevel, fitTransform } from '../../src/lib/wall/map-model.ts';
import type { TopologyDto } from '../../src/lib/protocol/topology.ts';

/** Two clients; sites of 1 router → 2 switches → 6 servers. */
function estate(): { nodes: LayoutNode[]; links: LayoutLink[] } {
  const nodes: LayoutNode[] = [];
  const links: LayoutLink[] = [];
  for (const client of ['acme', 'globex']) {
    for (const site of ['s1', 's2']) {
      const p = `${client}-${site}`;
      nodes.push({ id: `${p}-rtr`, client, site: p, x: null, y: null, pinned: false });
      for (let s = 0; s < 2; s++) {
        nodes.push({ id: `${p}-sw${s}`, client, site: p, x: null, y: null, pinned: false });
        links.push({ from: `${p}-rtr`, to: `${p}-sw${s}` });
        for (let v = 0; v < 3; v++) {
          nodes.push({ id: `${p}-sw${s}-srv${v}`, client, site: p, x: null, y: null, pinned: false });
          links.push({ from: `${p}-sw${s}`, to: `${p}-sw${s}-srv${v}` });
        }
      }
    }
  }
  return { nodes, links };
}

const centre = (points: { x: number; y: number }[]) => ({ x: points.reduce((s, p) => s + p.x, 0) / points.length, y: points.reduce((s, p) => s + p.y, 0) / points.length });

describe('topology layout', () => {
  it('places every node, the same way every time (so a reload looks the same)', () => {
    const { nodes, links } = estate();
    const a = layoutTopology(nodes, links);
    const b = layoutTopology(structuredClone(nodes).reverse(), [...links].reverse());
    expect(a.size).toBe(nodes.length);
    for (const [id, p] of a) expect(b.get(id)).toEqual(p);
    for (const p of a.values()) expect(Number.isFinite(p.x) && Number.isFinite(p.y)).toBe(true);
  });

  it('keeps each site together and the clients apart', () => {
    const { nodes, links } = estate();
    const pos = layoutTopology(nodes, links);
    const of = (prefix: string) => nodes.filter((n) => n.id.startsWith(prefix)).map((n) => pos.get(n.id)!);
    const spread = (points: { x: number; y: number }[]) => Math.max(...points.map((p) => Math.hypot(p.x - centre(points).x, p.y - centre(points).y)));
    const acme = centre(of('acme'));
    const globex = centre(of('globex'));
    expect(Math.hypot(acme.x - globex.x, acme.y - globex.y)).toBeGreaterThan(spread(of('acme-s1')) * 2);
    // No two nodes on top of each other.
    const all = [...pos.values()];
    for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) expect(Math.hypot(all[i].x - all[j].x, all[i].y - all[j].y)).toBeGreaterThan(4);
  });

  it('leaves placed and pinned nodes where they are and puts a new node beside its neighbour', () => {
    const { nodes, links } = estate();
    const placed = layoutTopology(nodes, links);
    const withPositions = nodes.map((n) => ({ ...n, ...placed.get(n.id)! }));
    withPositions[0] = { ...withPositions[0], x: 5000, y: 5000, pinned: true };
    const fresh: LayoutNode = { id: 'acme-s1-sw0-srv-new', client: 'acme', site: 'acme-s1', x: null, y: null, pinned: false };
    const next = layoutTopology([...withPositions, fresh], [...links, { from: 'acme-s1-sw0', to: fresh.id }]);
    for (const n of withPositions) expect(next.get(n.id)).toEqual({ x: n.x, y: n.y });
    const parent = next.get('acme-s1-sw0')!;
    const child = next.get(fresh.id)!;
    expect(Math.hypot(child.x - parent.x, child.y - parent.y)).toBeLessThan(80);
  });

  it('fits the map into a panel and collapses groups when nodes would be specks', () => {
    const { nodes, links } = estate();
    const pos = layoutTopology(nodes, links);
    const topology: TopologyDto = {
      clients: [{ slug: 'acme', name: 'Acme', uptimeTarget: 99.9 }, { slug: 'globex', name: 'Globex', uptimeTarget: 99.9 }],
      sites: [],
      nodes: nodes.map((n) => ({ id: n.id, client: n.client, siteId: n.site, name: n.id, kind: 'server', parentId: null, labels: {}, x: pos.get(n.id)!.x, y: pos.get(n.id)!.y, pinned: false })),
      links: links.map((l, i) => ({ id: `l${i}`, client: l.from.split('-')[0], from: l.from, to: l.to, capacityMbps: null, utilisation: null })),
    };
    const g = buildGeometry(topology, { aspect: 16 / 9 });
    expect(g.nodes).toHaveLength(nodes.length);
    expect(g.links).toHaveLength(links.length);
    expect(g.sites).toHaveLength(4);
    expect(g.clients).toHaveLength(2);
    const t = fitTransform(g.bounds, 1600, 900, 10);
    // Everything lands inside the panel.
    for (const n of g.nodes) {
      const sx = t.k * n.x + t.x;
      const sy = t.k * n.y + t.y;
      expect(sx).toBeGreaterThanOrEqual(0);
      expect(sx).toBeLessThanOrEqual(1600);
      expect(sy).toBeGreaterThanOrEqual(0);
      expect(sy).toBeLessThanOrEqual(900);
    }
    expect(detailLevel(1, 50)).toBe('nodes');
    expect(detailLevel(0.2, 100)).toBe('sites');
    expect(detailLevel(0.02, 100)).toBe('clients');
    // One client only.
    expect(buildGeometry(topology, { client: 'acme' }).nodes.every((n) => n.client === 'acme')).toBe(true);
  });
});
