/**
 * The demo MSP: clients, sites, ~150 nodes with links and one source per format, and a traffic
 * generator that posts realistic alerts to the server's own webhooks with real tokens — the same
 * path a real Alertmanager takes, not a side door.
 */
import { eq, inArray, like, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, Db, Tx } from '../db/database.ts';
import { alerts, clients, incidents, links, nodes, sites, sources } from '../db/schema/index.ts';
import { addSource, newSourceToken } from '../ingest/sources.ts';
import { hashToken } from '../auth/tokens.ts';
import type { ChangeWriter } from '../engine/change-writer.ts';
import { recordIncidentChanges } from '../db/incident-store.ts';
import { anyText } from '../db/sql-values.ts';
import { BY_CLI, recordAudit } from '../audit/audit-log.ts';
import type { IncidentChange } from '../realtime/coalesce.ts';
import { createDemoTraffic, type DemoNode, type DemoTraffic } from './demo-traffic.ts';

export const DEMO_SOURCE_PREFIX = 'demo-';

const DEMO_CLIENTS = [
  { slug: 'northwind', name: 'Northwind Traders', timezone: 'Europe/London', sites: ['London HQ', 'Manchester DC'] },
  { slug: 'acme', name: 'Acme Logistics', timezone: 'America/New_York', sites: ['Newark Hub', 'Chicago DC'] },
  { slug: 'globex', name: 'Globex Health', timezone: 'Europe/Berlin', sites: ['Berlin Clinic', 'Frankfurt DC'] },
  { slug: 'initech', name: 'Initech Finance', timezone: 'Asia/Singapore', sites: ['Singapore Office'] },
];

const SERVER_ROLES = ['web', 'app', 'db', 'cache', 'file', 'mail', 'backup', 'hv'];

export interface Demo {
  stop(): void;
  /** Deletes and rebuilds the demo estate, then streams again with fresh tokens. */
  reset(): Promise<void>;
}

/**
 * Removes every demo client (with its sites, nodes, links, incidents) and every demo source (with its
 * alerts), inside `tx`. Deleted rows tell no one, so the open incidents are resolved first with a change
 * row each (returned, to publish after commit): screens already showing them drop them.
 */
async function deleteDemoEstate(database: Database, tx: Tx): Promise<{ clients: string[]; changes: IncidentChange[] }> {
  const demoClients = await tx.select({ slug: clients.slug }).from(clients).where(eq(clients.isDemo, true));
  const slugs = demoClients.map((c) => c.slug);
  let changes: IncidentChange[] = [];
  if (slugs.length > 0) {
    // No timeline entry: the timeline goes with its incident a moment later, in this transaction.
    const at = sql`${new Date().toISOString()}::timestamptz`;
    const resolved = await database.rows<{ id: string }>(
      sql`with resolved as (
            update incidents set status = 'resolved', resolved_at = ${at}, snoozed_until = null, open_alert_count = 0,
              updated_at = ${at}, version = version + 1
            where client = ${anyText(slugs)} and status <> 'resolved' returning id, created_at)
          select id from resolved order by created_at`,
      tx,
    );
    // Read before the clients go: the change rows carry the incidents as screens see them, client names included.
    changes = await recordIncidentChanges(database, tx, resolved.map((r) => r.id));
    await tx.delete(incidents).where(inArray(incidents.client, slugs));
    await tx.delete(clients).where(inArray(clients.slug, slugs));
  }
  const demoSources = await tx.select({ id: sources.id }).from(sources).where(like(sources.name, `${DEMO_SOURCE_PREFIX}%`));
  if (demoSources.length > 0) {
    await tx.delete(alerts).where(inArray(alerts.sourceId, demoSources.map((s) => s.id)));
    await tx.delete(sources).where(inArray(sources.id, demoSources.map((s) => s.id)));
  }
  return { clients: slugs, changes };
}

/** Creates the demo estate and its sources (all or nothing); returns the sources' tokens. */
export async function seedDemoEstate(db: Db): Promise<Record<string, string>> {
  return db.transaction(async (tx) => {
    for (const c of DEMO_CLIENTS) {
      const [client] = await tx
        .insert(clients)
        .values({ slug: c.slug, name: c.name, timezone: c.timezone, isDemo: true, uptimeTarget: 99.9 })
        .returning();
      const routers: string[] = [];
      for (const [siteIndex, siteName] of c.sites.entries()) {
        const [site] = await tx.insert(sites).values({ clientId: client.id, name: siteName }).returning();
        const prefix = siteName.split(' ')[0].toLowerCase().slice(0, 3);
        const add = async (name: string, kind: string, parentId: string | null) => {
          const [row] = await tx
            .insert(nodes)
            .values({ clientId: client.id, siteId: site.id, name: `${prefix}-${name}`, kind, parentId, labels: { site: siteName } })
            .returning();
          if (parentId) await tx.insert(links).values({ clientId: client.id, fromNodeId: parentId, toNodeId: row.id, capacityMbps: kind === 'switch' ? 10_000 : 1000 });
          return row.id;
        };
        const router = await add('rtr-01', 'router', null);
        routers.push(router);
        const firewall = await add('fw-01', 'firewall', router);
        const cores = [await add('core-sw-01', 'switch', firewall), await add('core-sw-02', 'switch', firewall)];
        // The core pair is cross-linked, as real cores are (the map shows the ring, not just a tree).
        await tx.insert(links).values({ clientId: client.id, fromNodeId: cores[0], toNodeId: cores[1], capacityMbps: 40_000 });
        const accessCount = siteIndex === 0 ? 6 : 4;
        for (let a = 0; a < accessCount; a++) {
          const access = await add(`acc-sw-${String(a + 1).padStart(2, '0')}`, 'switch', cores[a % 2]);
          for (let s = 0; s < 3; s++) {
            const role = SERVER_ROLES[(a * 3 + s) % SERVER_ROLES.length];
            await add(`${role}-${String(a * 3 + s + 1).padStart(2, '0')}`, 'server', access);
          }
        }
        await add('nas-01', 'storage', cores[0]);
      }
      // Sites of one client are joined by a WAN link between their routers.
      for (let r = 1; r < routers.length; r++) {
        await tx.insert(links).values({ clientId: client.id, fromNodeId: routers[0], toNodeId: routers[r], capacityMbps: 1000 });
      }
    }
    const tokens: Record<string, string> = {};
    for (const format of ['alertmanager', 'grafana', 'pagerduty', 'generic'] as const) {
      const { token } = await addSource(tx, { name: `${DEMO_SOURCE_PREFIX}${format}`, format });
      tokens[format] = token;
    }
    return tokens;
  });
}

/**
 * Deletes and seeds the demo estate in one transaction of `writer` (all or nothing), and publishes the
 * removal of its open incidents after commit. Returns the new sources' tokens.
 */
export async function resetDemoEstate(database: Database, writer: ChangeWriter): Promise<Record<string, string>> {
  return writer.write(async (tx) => {
    const removed = await deleteDemoEstate(database, tx);
    const tokens = await seedDemoEstate(tx);
    await recordAudit(database, tx, {
      ...BY_CLI,
      action: 'demo.reset',
      entity: 'demo',
      entityId: null,
      detail: { clients: removed.clients, resolvedIncidents: removed.changes.length },
    });
    return { result: tokens, changes: removed.changes };
  });
}

/** New tokens for the demo sources: the old ones were shown once and are not kept. */
async function rotateDemoTokens(db: Db): Promise<Record<string, string>> {
  const rows = await db.select().from(sources).where(like(sources.name, `${DEMO_SOURCE_PREFIX}%`));
  const tokens: Record<string, string> = {};
  for (const row of rows) {
    const token = newSourceToken(row.format);
    await db.update(sources).set({ tokenHash: hashToken(token), tokenPrefix: token.slice(0, 8) }).where(eq(sources.id, row.id));
    tokens[row.format] = token;
  }
  return tokens;
}

async function demoNodes(db: Db): Promise<DemoNode[]> {
  return db
    .select({ name: nodes.name, kind: nodes.kind, client: clients.slug })
    .from(nodes)
    .innerJoin(clients, eq(clients.id, nodes.clientId))
    .where(eq(clients.isDemo, true));
}

/**
 * Seeds the demo on an empty database (or resumes it when demo clients exist) and starts streaming.
 * A database with only real clients gets no demo. `writer` is the server's: a reset is published
 * through it to the screens.
 */
export async function startDemo(options: { database: Database; writer: ChangeWriter; url: string; log: FastifyBaseLogger }): Promise<Demo | null> {
  const { database, writer } = options;
  const { db } = database;
  const [{ total, demo }] = await db
    .select({ total: sql<number>`count(*)::int`, demo: sql<number>`count(*) filter (where ${clients.isDemo})::int` })
    .from(clients);
  if (Number(total) > 0 && Number(demo) === 0) return null;
  let tokens = Number(total) === 0 ? await seedDemoEstate(db) : await rotateDemoTokens(db);
  let traffic: DemoTraffic = createDemoTraffic({ url: options.url, tokens, nodes: await demoNodes(db), log: options.log });
  options.log.info('demo estate streaming (WATCHFLOOR_DEMO=off disables it)');
  return {
    stop: () => traffic.stop(),
    async reset() {
      traffic.stop();
      try {
        tokens = await resetDemoEstate(database, writer);
      } finally {
        // A failed reset changed nothing: stream on with the sources and tokens that still hold.
        traffic = createDemoTraffic({ url: options.url, tokens, nodes: await demoNodes(db), log: options.log });
      }
    },
  };
}
