import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../http/app-context.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { sessionOf } from '../auth/authenticate.ts';
import { hashToken } from '../auth/tokens.ts';
import { clients as clientsTable, nodes, sites, sources } from '../db/schema/index.ts';
import {
  createLinkRequest,
  createNodeRequest,
  createSiteRequest,
  linkUtilisationRequest,
  savePositionsRequest,
  topologyClient,
  topologyDocument,
  unpinRequest,
  updateNodeRequest,
  type TopologyDocument,
} from '../../src/lib/protocol/topology.ts';
import { importTopology, loadTopology, recordLinkUtilisation, savePositions, unpinNodes } from './topology-store.ts';
import type { TopologyService } from './topology-service.ts';
import { userScope, wallScope } from '../walls/wall-auth.ts';

const idParams = z.object({ id: z.string().uuid('must be an id') });
/** A REST record has no lines: problems name the field. */
const noLines = () => null;

/**
 * Nodes, links and groups (clients, sites) over REST; positions from /map; link utilisation as a
 * metric from monitoring (source token). Reads are scoped to the caller's clients.
 */
export function topologyRoutes(app: FastifyInstance, context: AppContext, topology: TopologyService): void {
  const { database, renames } = context;
  const db = database.db;
  /** Every topology write below, so a client renamed by one reaches open screens in its transaction. */
  const apply = (document: TopologyDocument) => importTopology(database, renames, { document, lineOf: noLines });
  const lead = { config: { role: 'lead' as const } };
  const id = (request: FastifyRequest) => parseOrThrow(idParams, request.params, 'path').id;

  /** Everything the map draws, within the signed-in user's clients. */
  app.get('/api/v1/topology', async (request) => loadTopology(database, userScope(request)));

  /** What one wall's map draws: a wall screen (device cookie) or a person previewing it. */
  app.get('/api/v1/walls/:id/topology', { config: { wall: true } }, async (request) => {
    const scope = await wallScope(db, request);
    return loadTopology(database, scope.clients);
  });

  /** Import a whole document (the CLI's JSON format), all-or-nothing. */
  app.post('/api/v1/topology/import', lead, async (request) => {
    const document = parseOrThrow(topologyDocument, request.body);
    const result = await apply(document);
    void topology.layout();
    await topology.changed(result.clients);
    return result.summary;
  });

  app.post('/api/v1/topology/clients', lead, async (request, reply) => {
    const client = parseOrThrow(topologyClient, request.body);
    const result = await apply({ clients: [client] });
    return reply.status(result.summary.clients.created ? 201 : 200).send(result.summary);
  });

  app.post('/api/v1/topology/sites', lead, async (request, reply) => {
    const site = parseOrThrow(createSiteRequest, request.body);
    const result = await apply({ sites: [site] });
    await topology.changed(result.clients);
    const [row] = await db
      .select({ id: sites.id })
      .from(sites)
      .innerJoin(clientsTable, eq(clientsTable.id, sites.clientId))
      .where(and(eq(clientsTable.slug, site.client), eq(sites.name, site.name)));
    return reply.status(result.summary.sites.created ? 201 : 200).send({ id: row.id, ...result.summary.sites });
  });

  app.delete('/api/v1/topology/sites/:id', lead, async (request, reply) => {
    const rows = await database.rows<{ slug: string }>(
      sql`delete from sites s using clients c where s.id = ${id(request)} and c.id = s.client_id returning c.slug`,
    );
    if (rows.length === 0) throw new DomainError('not_found', 'no such site');
    await topology.changed([rows[0].slug]);
    return reply.status(204).send();
  });

  app.post('/api/v1/topology/nodes', lead, async (request, reply) => {
    const node = parseOrThrow(createNodeRequest, request.body);
    const result = await apply({ nodes: [node] });
    await topology.layout();
    const [row] = await db
      .select({ id: nodes.id })
      .from(nodes)
      .innerJoin(clientsTable, eq(clientsTable.id, nodes.clientId))
      .where(and(eq(clientsTable.slug, node.client), eq(nodes.name, node.name)));
    await topology.changed(result.clients);
    return reply.status(result.summary.nodes.created ? 201 : 200).send({ id: row.id, ...result.summary.nodes });
  });

  app.patch('/api/v1/topology/nodes/:id', lead, async (request) => {
    const nodeId = id(request);
    const input = parseOrThrow(updateNodeRequest, request.body);
    const [current] = await database.rows<{ client: string; name: string; client_id: string }>(
      sql`select c.slug as client, n.name, n.client_id from nodes n join clients c on c.id = n.client_id where n.id = ${nodeId}`,
    );
    if (!current) throw new DomainError('not_found', 'no such node');
    const lookup = async (table: 'sites' | 'nodes', name: string, field: string) => {
      const rows = await database.rows<{ id: string }>(
        table === 'sites'
          ? sql`select id from sites where client_id = ${current.client_id} and name = ${name}`
          : sql`select id from nodes where client_id = ${current.client_id} and name = ${name}`,
      );
      if (!rows[0]) throw new DomainError('validation_failed', `${field}: unknown ${table === 'sites' ? 'site' : 'node'} ${JSON.stringify(name)} of ${current.client}`, field);
      return rows[0].id;
    };
    const siteId = input.site === undefined ? undefined : input.site === null ? null : await lookup('sites', input.site, 'site');
    const parentId = input.parent === undefined ? undefined : input.parent === null ? null : await lookup('nodes', input.parent, 'parent');
    if (parentId === nodeId) throw new DomainError('validation_failed', 'parent: a node cannot be its own parent', 'parent');
    try {
      await db
        .update(nodes)
        .set({
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(siteId !== undefined ? { siteId } : {}),
          ...(parentId !== undefined ? { parentId } : {}),
          ...(input.kind !== undefined ? { kind: input.kind } : {}),
          ...(input.labels !== undefined ? { labels: input.labels } : {}),
        })
        .where(eq(nodes.id, nodeId));
    } catch (error) {
      if (String((error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code) === '23505') {
        throw new DomainError('conflict', `name: ${current.client} already has a node named ${JSON.stringify(input.name)}`, 'name');
      }
      throw error;
    }
    await topology.changed([current.client]);
    const topo = await loadTopology(database, [current.client]);
    return topo.nodes.find((n) => n.id === nodeId);
  });

  app.delete('/api/v1/topology/nodes/:id', lead, async (request, reply) => {
    const rows = await database.rows<{ slug: string }>(sql`delete from nodes n using clients c where n.id = ${id(request)} and c.id = n.client_id returning c.slug`);
    if (rows.length === 0) throw new DomainError('not_found', 'no such node');
    await topology.changed([rows[0].slug]);
    return reply.status(204).send();
  });

  app.post('/api/v1/topology/links', lead, async (request, reply) => {
    const link = parseOrThrow(createLinkRequest, request.body);
    const result = await apply({ links: [link] });
    await topology.changed(result.clients);
    return reply.status(result.summary.links.created ? 201 : 200).send(result.summary.links);
  });

  app.delete('/api/v1/topology/links/:id', lead, async (request, reply) => {
    const rows = await database.rows<{ slug: string }>(sql`delete from links l using clients c where l.id = ${id(request)} and c.id = l.client_id returning c.slug`);
    if (rows.length === 0) throw new DomainError('not_found', 'no such link');
    await topology.changed([rows[0].slug]);
    return reply.status(204).send();
  });

  /** Operators place nodes by hand in /map (pinned), or store an automatic arrangement (`pin: false`). */
  app.put('/api/v1/topology/positions', { config: { role: 'engineer' } }, async (request) => {
    const input = parseOrThrow(savePositionsRequest, request.body);
    const session = sessionOf(request);
    const changed = await savePositions(database, input.positions, { pin: input.pin ?? true, by: session.user.id, clients: session.user.clients });
    await topology.changed(changed);
    return { saved: input.positions.length };
  });

  /** Hands pinned nodes back to the automatic layout (they keep their place until it runs). */
  app.post('/api/v1/topology/positions/unpin', { config: { role: 'engineer' } }, async (request) => {
    const input = parseOrThrow(unpinRequest, request.body);
    const changed = await unpinNodes(database, input.ids, sessionOf(request).user.clients);
    await topology.changed(changed);
    return { unpinned: changed.length > 0 };
  });

  /** Lays out every node that is not pinned again, from scratch. */
  app.post('/api/v1/topology/layout', lead, async () => ({ moved: await topology.layout({ full: true }) }));

  /**
   * Link utilisation posted as a metric by a monitoring system, with an enabled source's token
   * (`Authorization: Bearer …`, the same token its alerts use).
   */
  app.post('/api/v1/topology/link-utilisation', { config: { public: true } }, async (request) => {
    const header = request.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!bearer) throw new DomainError('unauthenticated', 'send a source token: Authorization: Bearer <token>');
    const [source] = await db.select({ enabled: sources.enabled, client: sources.defaultClient }).from(sources).where(eq(sources.tokenHash, hashToken(bearer)));
    if (!source || !source.enabled) throw new DomainError('unauthenticated', 'unknown source token');
    // A source tied to one client reports only that client's links.
    const scope = source.client === null ? null : [source.client];
    const input = parseOrThrow(linkUtilisationRequest, request.body);
    const result = await recordLinkUtilisation(database, input, scope);
    await topology.utilisation(result.links);
    return { accepted: result.links.length };
  });
}
