/// <reference lib="webworker" />
/** The topology layout off the page's main thread (large graphs take a moment). */
import { layoutTopology, type LayoutLink, type LayoutNode, type LayoutOptions } from './topology-layout.ts';

self.onmessage = (event: MessageEvent<{ nodes: LayoutNode[]; links: LayoutLink[]; options: LayoutOptions }>) => {
  const { nodes, links, options } = event.data;
  (self as unknown as Worker).postMessage([...layoutTopology(nodes, links, options)]);
};
