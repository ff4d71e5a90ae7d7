/** Runs the topology layout off the server's event loop (worker thread); see topology-service.ts. */
import { parentPort, workerData } from 'node:worker_threads';
import { layoutTopology, type LayoutLink, type LayoutNode, type LayoutOptions } from '../../src/lib/wall/topology-layout.ts';

const input = workerData as { nodes: LayoutNode[]; links: LayoutLink[]; options: LayoutOptions };
parentPort!.postMessage([...layoutTopology(input.nodes, input.links, input.options)]);
