import { z } from 'zod';
import { isTimeZoneName } from '../domain/time-zone-name.ts';

/**
 * Topology: clients → sites → nodes, and links between nodes. REST DTOs and request schemas under
 * /api/v1/topology, shared by the server (validation) and the app (types). The import format of
 * `watchfloor topology import` and `POST /api/v1/topology/import` is {@link topologyDocument}.
 */

export const clientSlug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a client slug (lowercase letters, digits, dashes)');
const name = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200)
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');
const labelMap = z.record(z.string().min(1).max(100), z.string().max(500)).refine((l) => Object.keys(l).length <= 50, 'at most 50 labels');

export const NODE_KINDS = ['router', 'firewall', 'switch', 'server', 'storage', 'service', 'wireless', 'other'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

export const topologyClient = z
  .object({
    slug: clientSlug,
    name,
    timezone: z.string().max(64).refine(isTimeZoneName, 'must be an IANA time zone such as Europe/London').optional(),
    /** Availability target in percent (the heatmap's summary row compares against it). */
    uptimeTarget: z.number().min(0).max(100).optional(),
  })
  .strict();

export const topologySite = z.object({ client: clientSlug, name, location: z.string().max(200).optional() }).strict();

/** A node as created through REST or an import file. */
export const createNodeRequest = z
  .object({
    client: clientSlug,
    name,
    /** Site name within the client; absent = no site. */
    site: name.optional(),
    kind: z.enum(NODE_KINDS).optional(),
    /** Dependency parent (node name within the client): when it is down, this node is unreachable. */
    parent: name.optional(),
    labels: labelMap.optional(),
  })
  .strict();

/** A node in an import file: it may also be pinned at a fixed position. */
export const topologyNode = createNodeRequest
  .extend({
    /** A fixed position on the map (pins the node); absent = laid out automatically. */
    x: z.number().finite().optional(),
    y: z.number().finite().optional(),
  })
  .strict()
  .refine((n) => (n.x === undefined) === (n.y === undefined), 'give both x and y, or neither');

export const topologyLink = z
  .object({
    client: clientSlug,
    /** Node names within the client. */
    from: name,
    to: name,
    capacityMbps: z.number().positive().max(1e9).optional(),
    /** 0–1 (share of capacity in use). */
    utilisation: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((l) => l.from !== l.to, 'a link needs two different nodes');

/** The import document (JSON); the CSV format maps onto the same records. */
export const topologyDocument = z
  .object({
    clients: z.array(topologyClient).max(1000).optional(),
    sites: z.array(topologySite).max(10_000).optional(),
    nodes: z.array(topologyNode).max(50_000).optional(),
    links: z.array(topologyLink).max(100_000).optional(),
  })
  .strict();
export type TopologyDocument = z.infer<typeof topologyDocument>;

export interface TopologyClientDto {
  slug: string;
  name: string;
  uptimeTarget: number;
}
export interface TopologySiteDto {
  id: string;
  client: string;
  name: string;
  location: string | null;
}
export interface TopologyNodeDto {
  id: string;
  client: string;
  /** Site id, or null. */
  siteId: string | null;
  name: string;
  kind: string;
  parentId: string | null;
  labels: Record<string, string>;
  /** Stored position; null until laid out. */
  x: number | null;
  y: number | null;
  /** Placed by hand in /map: the automatic layout leaves it alone. */
  pinned: boolean;
}
export interface TopologyLinkDto {
  id: string;
  client: string;
  from: string;
  to: string;
  capacityMbps: number | null;
  /** 0–1, or null when never reported. */
  utilisation: number | null;
}
/** Everything the map draws, within the caller's clients. */
export interface TopologyDto {
  clients: TopologyClientDto[];
  sites: TopologySiteDto[];
  nodes: TopologyNodeDto[];
  links: TopologyLinkDto[];
}

export const savePositionsRequest = z
  .object({
    positions: z
      .array(z.object({ id: z.string().uuid(), x: z.number().finite(), y: z.number().finite() }).strict())
      .min(1)
      .max(50_000),
    /** true: pin them (hand-placed); false: store and leave them to the automatic layout. @default true */
    pin: z.boolean().optional(),
  })
  .strict();
export type SavePositionsRequest = z.infer<typeof savePositionsRequest>;

export const unpinRequest = z.object({ ids: z.array(z.string().uuid()).min(1).max(50_000) }).strict();

export const updateNodeRequest = z
  .object({
    name: name.optional(),
    site: name.nullable().optional(),
    kind: z.enum(NODE_KINDS).optional(),
    parent: name.nullable().optional(),
    labels: labelMap.optional(),
  })
  .strict();
export const createLinkRequest = topologyLink;
export const createSiteRequest = topologySite;

/** A link utilisation sample as a monitoring system posts it (by node names or by link id). */
export const linkUtilisationRequest = z
  .object({
    samples: z
      .array(
        z.union([
          z.object({ link: z.string().uuid(), utilisation: z.number().min(0).max(1) }).strict(),
          z.object({ client: clientSlug, from: name, to: name, utilisation: z.number().min(0).max(1) }).strict(),
        ]),
      )
      .min(1)
      .max(10_000),
  })
  .strict();
export type LinkUtilisationRequest = z.infer<typeof linkUtilisationRequest>;

export interface ImportSummary {
  clients: { created: number; updated: number };
  sites: { created: number; updated: number };
  nodes: { created: number; updated: number };
  links: { created: number; updated: number };
}
