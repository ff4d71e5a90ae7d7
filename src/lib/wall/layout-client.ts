import type { TopologyDto } from '$lib/protocol/topology.ts';
import type { LayoutOptions, Point } from './topology-layout.ts';

/**
 * Positions for a topology, computed in a Web Worker so the page keeps drawing. Nodes that have a
 * stored position keep it (the server stores the layout; this fills in nodes it has not placed yet,
 * or arranges everything again when an operator asks in /map).
 */
export function layoutInWorker(topology: TopologyDto, options: LayoutOptions = {}): Promise<Map<string, Point>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<[string, Point][]>) => {
      resolve(new Map(event.data));
      worker.terminate();
    };
    worker.onerror = (event) => {
      reject(new Error(event.message || 'layout worker failed'));
      worker.terminate();
    };
    worker.postMessage({
      nodes: topology.nodes.map((n) => ({ id: n.id, client: n.client, site: n.siteId, x: n.x, y: n.y, pinned: n.pinned })),
      links: topology.links.map((l) => ({ from: l.from, to: l.to })),
      options,
    });
  });
}

/** The topology with every node placed (unplaced ones laid out in the worker). */
export async function withPositions(topology: TopologyDto): Promise<TopologyDto> {
  if (topology.nodes.every((n) => n.x !== null && n.y !== null)) return topology;
  const positions = await layoutInWorker(topology);
  return { ...topology, nodes: topology.nodes.map((n) => ({ ...n, x: positions.get(n.id)?.x ?? n.x, y: positions.get(n.id)?.y ?? n.y })) };
}
