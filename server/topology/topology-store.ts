/**
 * Topology in the database: reading it within a client scope, applying an import document
 * all-or-nothing (names checked, problems tied to lines), positions, pins, link utilisation.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Database, Tx } from '../db/database.ts';
import { DomainError } from '../errors.ts';
import type {
  ImportSummary,
  LinkUtilisationRequest,
  TopologyDocument,
  TopologyDto,
  TopologyLinkDto,
  TopologyNodeDto,
} from '../../src/lib/protocol/topology.ts';
import { formatProblems, MAX_PROBLEMS, type ImportProblem, type ParsedTopology, type Section } from './topology-import.ts';
import { json, textArray as texts } from '../db/sql-values.ts';
import type { Renames } from '../incidents/renames.ts';

/** `where` for a client scope over a `clients c` join: null = every client. */
function inScope(clients: readonly string[] | null): SQL {
  if (clients === null) return sql`true`;
  if (clients.length === 0) return sql`false`;
  return sql`c.slug = any(${texts(clients)})`;
}

/** Everything the map draws within a client scope. */
export async function loadTopology(database: Database, clients: readonly string[] | null): Promise<TopologyDto> {
  const scope = inScope(clients);
  const [clientRows, siteRows, nodeRows, linkRows] = await Promise.all([
    database.rows<{ slug: string; name: string; uptime_target: number }>(sql`select c.slug, c.name, c.uptime_target from clients c where ${scope} order by c.name`),
    database.rows<{ id: string; client: string; name: string; location: string | null }>(
      sql`select s.id, c.slug as client, s.name, s.location from sites s join clients c on c.id = s.client_id where ${scope} order by c.slug, s.name`,
    ),
    database.rows<{ id: string; client: string; site_id: string | null; name: string; kind: string; parent_id: string | null; labels: Record<string, string>; x: number | null; y: number | null; pinned: boolean }>(
      sql`select n.id, c.slug as client, n.site_id, n.name, n.kind, n.parent_id, n.labels, n.x, n.y, (p.node_id is not null) as pinned
          from nodes n join clients c on c.id = n.client_id left join node_pins p on p.node_id = n.id
          where ${scope} order by c.slug, n.name`,
    ),
    database.rows<{ id: string; client: string; from_node_id: string; to_node_id: string; capacity_mbps: number | null; utilisation: number | null }>(
      sql`select l.id, c.slug as client, l.from_node_id, l.to_node_id, l.capacity_mbps, l.utilisation
          from links l join clients c on c.id = l.client_id where ${scope}`,
    ),
  ]);
  return {
    clients: clientRows.map((c) => ({ slug: c.slug, name: c.name, uptimeTarget: Number(c.uptime_target) })),
    sites: siteRows,
    nodes: nodeRows.map(
      (n): TopologyNodeDto => ({
        id: n.id,
        client: n.client,
        siteId: n.site_id,
        name: n.name,
        kind: n.kind,
        parentId: n.parent_id,
        labels: n.labels ?? {},
        x: n.x === null ? null : Number(n.x),
        y: n.y === null ? null : Number(n.y),
        pinned: Boolean(n.pinned),
      }),
    ),
    links: linkRows.map(
      (l): TopologyLinkDto => ({
        id: l.id,
        client: l.client,
        from: l.from_node_id,
        to: l.to_node_id,
        capacityMbps: l.capacity_mbps === null ? null : Number(l.capacity_mbps),
        utilisation: l.utilisation === null ? null : Number(l.utilisation),
      }),
    ),
  };
}

/** An import refused as a whole: nothing of it was stored. */
export class TopologyImportRefused extends DomainError {
  readonly problems: ImportProblem[];
  constructor(problems: ImportProblem[], total = problems.length) {
    super('validation_failed', `the topology was not imported (nothing was changed):\n${formatProblems(problems, total)}`);
    this.problems = problems;
  }
}

/** Map keys of (client, name) pairs; names cannot hold control characters (the schema refuses them). */
const key = (...parts: string[]) => parts.join('\u001f');

/** What an import did: its counts, every client it touched, and those whose name it set or changed. */
export interface TopologyApplied {
  summary: ImportSummary;
  clients: string[];
  /** Incidents may already show these clients' slugs, or their old names. */
  renamedClients: string[];
}

/**
 * Applies an import document (REST or the CLI's file) in one transaction, all or nothing (see applyTopology).
 * A document naming clients may rename them: it is written through `renames`, so the change rows showing
 * open screens the new names commit with it. One naming none (nodes, links, sites: most imports) renames
 * nothing and stays out of the writer's queue, so a big one does not hold up ingest.
 */
export function importTopology(database: Database, renames: Renames, parsed: ParsedTopology): Promise<TopologyApplied> {
  if (!parsed.document.clients?.length) return database.db.transaction((tx) => applyTopology(database, tx, parsed));
  return renames.write(async (tx) => {
    const applied = await applyTopology(database, tx, parsed);
    return { result: applied, renamed: applied.renamedClients.length > 0 ? { clients: applied.renamedClients } : null };
  });
}

/**
 * Applies an import document in `tx`: clients, sites, nodes (then their parents) and links are
 * created or updated by name; fields a record leaves out keep their stored value. Every name a
 * record refers to must exist in the file or the database; otherwise nothing is stored (the caller's
 * transaction fails) and the problems name their lines.
 */
async function applyTopology(database: Database, tx: Tx, parsed: ParsedTopology): Promise<TopologyApplied> {
  const doc: Required<TopologyDocument> = { clients: [], sites: [], nodes: [], links: [], ...parsed.document };
  const problems: ImportProblem[] = [];
  let total = 0;
  const problem = (section: Section, index: number, field: string, message: string) => {
    total++;
    if (problems.length < MAX_PROBLEMS) problems.push({ line: parsed.lineOf(section, index), where: `${section}[${index}]${field ? `.${field}` : ''}`, message });
  };
  const slugs = [...new Set([...doc.clients.map((c) => c.slug), ...doc.sites.map((s) => s.client), ...doc.nodes.map((n) => n.client), ...doc.links.map((l) => l.client)])];

  const existingClients = new Map(
    (await database.rows<{ id: string; slug: string }>(sql`select id, slug from clients where slug = any(${texts(slugs)})`, tx)).map((c) => [c.slug, c.id]),
  );
  const existingSites = new Map(
    (
      await database.rows<{ id: string; slug: string; name: string }>(
        sql`select s.id, c.slug, s.name from sites s join clients c on c.id = s.client_id where c.slug = any(${texts(slugs)})`,
        tx,
      )
    ).map((s) => [key(s.slug, s.name), s.id]),
  );
  const existingNodes = new Map(
    (
      await database.rows<{ id: string; slug: string; name: string }>(
        sql`select n.id, c.slug, n.name from nodes n join clients c on c.id = n.client_id where c.slug = any(${texts(slugs)})`,
        tx,
      )
    ).map((n) => [key(n.slug, n.name), n.id]),
  );

  // Names the file itself declares, and duplicates within it.
  const seen = new Map<string, number>();
  const once = (section: Section, index: number, k: string, what: string) => {
    const first = seen.get(`${section}\u0001${k}`);
    if (first !== undefined) problem(section, index, '', `${what} appears twice (first at line ${parsed.lineOf(section, first) ?? '?'})`);
    else seen.set(`${section}\u0001${k}`, index);
  };
  const fileClients = new Set(doc.clients.map((c) => c.slug));
  const fileSites = new Set(doc.sites.map((s) => key(s.client, s.name)));
  const fileNodes = new Set(doc.nodes.map((n) => key(n.client, n.name)));
  const clientKnown = (slug: string) => fileClients.has(slug) || existingClients.has(slug);
  const nodeKnown = (client: string, name: string) => fileNodes.has(key(client, name)) || existingNodes.has(key(client, name));

  doc.clients.forEach((c, i) => once('clients', i, c.slug, `client ${c.slug}`));
  doc.sites.forEach((s, i) => {
    once('sites', i, key(s.client, s.name), `site ${JSON.stringify(s.name)} of ${s.client}`);
    if (!clientKnown(s.client)) problem('sites', i, 'client', `unknown client ${JSON.stringify(s.client)}: add it to the file's clients`);
  });
  doc.nodes.forEach((n, i) => {
    once('nodes', i, key(n.client, n.name), `node ${JSON.stringify(n.name)} of ${n.client}`);
    if (!clientKnown(n.client)) problem('nodes', i, 'client', `unknown client ${JSON.stringify(n.client)}`);
    else if (n.site !== undefined && !fileSites.has(key(n.client, n.site)) && !existingSites.has(key(n.client, n.site))) {
      problem('nodes', i, 'site', `unknown site ${JSON.stringify(n.site)} of ${n.client}`);
    }
    if (n.parent !== undefined && !nodeKnown(n.client, n.parent)) problem('nodes', i, 'parent', `unknown parent node ${JSON.stringify(n.parent)} of ${n.client}`);
    if (n.parent === n.name) problem('nodes', i, 'parent', 'a node cannot be its own parent');
  });
  doc.links.forEach((l, i) => {
    once('links', i, key(l.client, l.from, l.to), `link ${l.from} → ${l.to} of ${l.client}`);
    if (!clientKnown(l.client)) problem('links', i, 'client', `unknown client ${JSON.stringify(l.client)}`);
    else {
      if (!nodeKnown(l.client, l.from)) problem('links', i, 'from', `unknown node ${JSON.stringify(l.from)} of ${l.client}`);
      if (!nodeKnown(l.client, l.to)) problem('links', i, 'to', `unknown node ${JSON.stringify(l.to)} of ${l.client}`);
    }
  });
  if (total > 0) throw new TopologyImportRefused(problems, total);

  const summary: ImportSummary = { clients: { created: 0, updated: 0 }, sites: { created: 0, updated: 0 }, nodes: { created: 0, updated: 0 }, links: { created: 0, updated: 0 } };

  // Clients
  const newClients = doc.clients.filter((c) => !existingClients.has(c.slug));
  const oldClients = doc.clients.filter((c) => existingClients.has(c.slug));
  const renamedClients: string[] = newClients.map((c) => c.slug);
  if (newClients.length) {
    const rows = await database.rows<{ id: string; slug: string }>(
      sql`insert into clients (slug, name, timezone, uptime_target)
          select x.slug, x.name, coalesce(x.timezone, 'UTC'), coalesce(x."uptimeTarget", 99.9)
          from jsonb_to_recordset(${json(newClients)}) as x(slug text, name text, timezone text, "uptimeTarget" real)
          returning id, slug`,
      tx,
    );
    for (const r of rows) existingClients.set(r.slug, r.id);
  }
  if (oldClients.length) {
    // `was` is the same row as the statement found it: its name is the one being replaced.
    const updated = await database.rows<{ slug: string; renamed: boolean }>(
      sql`update clients c set name = x.name, timezone = coalesce(x.timezone, c.timezone), uptime_target = coalesce(x."uptimeTarget", c.uptime_target)
          from jsonb_to_recordset(${json(oldClients)}) as x(slug text, name text, timezone text, "uptimeTarget" real), clients was
          where c.slug = x.slug and was.id = c.id
          returning c.slug, was.name is distinct from x.name as renamed`,
      tx,
    );
    for (const row of updated) if (row.renamed) renamedClients.push(row.slug);
  }
  summary.clients = { created: newClients.length, updated: oldClients.length };

  // Sites
  const siteRows = doc.sites.map((s) => ({ clientId: existingClients.get(s.client)!, k: key(s.client, s.name), name: s.name, location: s.location ?? null }));
  const newSites = siteRows.filter((s) => !existingSites.has(s.k));
  const oldSites = siteRows.filter((s) => existingSites.has(s.k)).map((s) => ({ ...s, id: existingSites.get(s.k)! }));
  if (newSites.length) {
    const rows = await database.rows<{ id: string; client_id: string; name: string }>(
      sql`insert into sites (client_id, name, location)
          select x."clientId", x.name, x.location from jsonb_to_recordset(${json(newSites)}) as x("clientId" uuid, name text, location text)
          returning id, client_id, name`,
      tx,
    );
    const slugOf = new Map([...existingClients].map(([slug, id]) => [id, slug]));
    for (const r of rows) existingSites.set(key(slugOf.get(r.client_id)!, r.name), r.id);
  }
  if (oldSites.length) {
    await database.rows(
      sql`update sites s set location = coalesce(x.location, s.location)
          from jsonb_to_recordset(${json(oldSites)}) as x(id uuid, location text) where s.id = x.id`,
      tx,
    );
  }
  summary.sites = { created: newSites.length, updated: oldSites.length };

  // Nodes, then their parents (a parent may come later in the file)
  const nodeRows = doc.nodes.map((n) => ({
    k: key(n.client, n.name),
    clientId: existingClients.get(n.client)!,
    siteId: n.site === undefined ? null : existingSites.get(key(n.client, n.site))!,
    hasSite: n.site !== undefined,
    name: n.name,
    kind: n.kind ?? null,
    labels: n.labels ?? null,
    x: n.x ?? null,
    y: n.y ?? null,
  }));
  const newNodes = nodeRows.filter((n) => !existingNodes.has(n.k));
  const oldNodes = nodeRows.filter((n) => existingNodes.has(n.k)).map((n) => ({ ...n, id: existingNodes.get(n.k)! }));
  for (let i = 0; i < newNodes.length; i += 2000) {
    const chunk = newNodes.slice(i, i + 2000);
    const rows = await database.rows<{ id: string; client_id: string; name: string }>(
      sql`insert into nodes (client_id, site_id, name, kind, labels, x, y)
          select x."clientId", x."siteId", x.name, coalesce(x.kind, 'server'), coalesce(x.labels, '{}'::jsonb), x.x, x.y
          from jsonb_to_recordset(${json(chunk)}) as x("clientId" uuid, "siteId" uuid, name text, kind text, labels jsonb, x float8, y float8)
          returning id, client_id, name`,
      tx,
    );
    const slugOf = new Map([...existingClients].map(([slug, id]) => [id, slug]));
    for (const r of rows) existingNodes.set(key(slugOf.get(r.client_id)!, r.name), r.id);
  }
  for (let i = 0; i < oldNodes.length; i += 2000) {
    await database.rows(
      sql`update nodes n set site_id = case when x."hasSite" then x."siteId" else n.site_id end, kind = coalesce(x.kind, n.kind),
            labels = coalesce(x.labels, n.labels), x = coalesce(x.x, n.x), y = coalesce(x.y, n.y)
          from jsonb_to_recordset(${json(oldNodes.slice(i, i + 2000))}) as x(id uuid, "siteId" uuid, "hasSite" boolean, kind text, labels jsonb, x float8, y float8)
          where n.id = x.id`,
      tx,
    );
  }
  const parents = doc.nodes.filter((n) => n.parent !== undefined).map((n) => ({ id: existingNodes.get(key(n.client, n.name))!, parentId: existingNodes.get(key(n.client, n.parent!))! }));
  if (parents.length) {
    await database.rows(sql`update nodes n set parent_id = x."parentId" from jsonb_to_recordset(${json(parents)}) as x(id uuid, "parentId" uuid) where n.id = x.id`, tx);
  }
  // A position in the file is a hand placement: pin it.
  const placed = doc.nodes.filter((n) => n.x !== undefined).map((n) => existingNodes.get(key(n.client, n.name))!);
  if (placed.length) {
    await database.rows(sql`insert into node_pins (node_id) select v::uuid from jsonb_array_elements_text(${json(placed)}) as v on conflict do nothing`, tx);
  }
  summary.nodes = { created: newNodes.length, updated: oldNodes.length };

  // Links
  const linkRows = doc.links.map((l) => ({
    clientId: existingClients.get(l.client)!,
    from: existingNodes.get(key(l.client, l.from))!,
    to: existingNodes.get(key(l.client, l.to))!,
    capacity: l.capacityMbps ?? null,
    utilisation: l.utilisation ?? null,
  }));
  let linksCreated = 0;
  for (let i = 0; i < linkRows.length; i += 2000) {
    const rows = await database.rows<{ inserted: boolean }>(
      sql`insert into links (client_id, from_node_id, to_node_id, capacity_mbps, utilisation)
          select x."clientId", x."from", x."to", x.capacity, x.utilisation
          from jsonb_to_recordset(${json(linkRows.slice(i, i + 2000))}) as x("clientId" uuid, "from" uuid, "to" uuid, capacity real, utilisation real)
          on conflict (from_node_id, to_node_id) do update set capacity_mbps = coalesce(excluded.capacity_mbps, links.capacity_mbps),
            utilisation = coalesce(excluded.utilisation, links.utilisation)
          returning (xmax = 0) as inserted`,
      tx,
    );
    linksCreated += rows.filter((r) => r.inserted).length;
  }
  summary.links = { created: linksCreated, updated: linkRows.length - linksCreated };
  return { summary, clients: slugs, renamedClients };
}

/** Stores positions (after the automatic layout, or dragged in /map); `pin` marks them hand-placed. */
export async function savePositions(
  database: Database,
  positions: { id: string; x: number; y: number }[],
  options: { pin: boolean; by: string | null; clients: readonly string[] | null },
): Promise<string[]> {
  return database.db.transaction(async (tx) => {
    // Only nodes within the caller's clients move; the others are not theirs to touch.
    const rows = await database.rows<{ id: string; slug: string }>(
      sql`update nodes n set x = p.x, y = p.y
          from jsonb_to_recordset(${json(positions)}) as p(id uuid, x float8, y float8), clients c
          where n.id = p.id and c.id = n.client_id and ${inScope(options.clients)}
          returning n.id, c.slug`,
      tx,
    );
    if (rows.length !== positions.length) throw new DomainError('not_found', `${positions.length - rows.length} of the nodes do not exist (or are not yours to move)`);
    if (options.pin) {
      await database.rows(
        sql`insert into node_pins (node_id, pinned_by) select v::uuid, ${options.by}::uuid from jsonb_array_elements_text(${json(rows.map((r) => r.id))}) as v
            on conflict (node_id) do update set pinned_by = excluded.pinned_by, pinned_at = now()`,
        tx,
      );
    }
    return [...new Set(rows.map((r) => r.slug))];
  });
}

/** Hands nodes back to the automatic layout. */
export async function unpinNodes(database: Database, ids: string[], clients: readonly string[] | null): Promise<string[]> {
  const rows = await database.rows<{ slug: string }>(
    sql`delete from node_pins p using nodes n, clients c
        where p.node_id = n.id and c.id = n.client_id and ${inScope(clients)} and p.node_id = any(array(select v::uuid from jsonb_array_elements_text(${json(ids)}) as v))
        returning c.slug`,
  );
  return [...new Set(rows.map((r) => r.slug))];
}

/** Stores the positions the automatic layout computed (not pins). */
export async function storeLayout(database: Database, positions: Map<string, { x: number; y: number }>): Promise<void> {
  const list = [...positions].map(([id, p]) => ({ id, x: p.x, y: p.y }));
  for (let i = 0; i < list.length; i += 5000) {
    await database.rows(
      sql`update nodes n set x = p.x, y = p.y from jsonb_to_recordset(${json(list.slice(i, i + 5000))}) as p(id uuid, x float8, y float8) where n.id = p.id`,
    );
  }
}

/**
 * Link utilisation reported as a metric: by link id or by (client, from, to) node names. Unknown links
 * are refused as a whole, like any bad input. Returns the links' new values and their clients.
 */
export async function recordLinkUtilisation(
  database: Database,
  request: LinkUtilisationRequest,
  clients: readonly string[] | null,
): Promise<{ links: { id: string; utilisation: number; client: string }[] }> {
  const byId = request.samples.flatMap((s, i) => ('link' in s ? [{ i, id: s.link, u: s.utilisation }] : []));
  const byName = request.samples.flatMap((s, i) => ('from' in s ? [{ i, client: s.client, from: s.from, to: s.to, u: s.utilisation }] : []));
  return database.db.transaction(async (tx) => {
    const found = await database.rows<{ i: number; id: string; client: string }>(
      sql`select x.i, l.id, c.slug as client from jsonb_to_recordset(${json(byId)}) as x(i int, id uuid)
            join links l on l.id = x.id join clients c on c.id = l.client_id where ${inScope(clients)}
          union all
          select x.i, l.id, c.slug from jsonb_to_recordset(${json(byName)}) as x(i int, client text, "from" text, "to" text)
            join clients c on c.slug = x.client
            join nodes a on a.client_id = c.id and a.name = x."from"
            join nodes b on b.client_id = c.id and b.name = x."to"
            join links l on l.from_node_id = a.id and l.to_node_id = b.id
          where ${inScope(clients)}`,
      tx,
    );
    const known = new Map(found.map((f) => [Number(f.i), f]));
    const missing = request.samples.findIndex((_, i) => !known.has(i));
    if (missing >= 0) throw new DomainError('validation_failed', `samples[${missing}]: no such link`, `samples[${missing}]`);
    // The latest sample per link wins.
    const latest = new Map<string, { id: string; utilisation: number; client: string }>();
    request.samples.forEach((s, i) => {
      const f = known.get(i)!;
      latest.set(f.id, { id: f.id, utilisation: s.utilisation, client: f.client });
    });
    const rows = [...latest.values()];
    const at = new Date().toISOString();
    await database.rows(sql`update links l set utilisation = x.utilisation from jsonb_to_recordset(${json(rows)}) as x(id uuid, utilisation real) where l.id = x.id`, tx);
    await database.rows(
      sql`insert into link_metrics (link_id, utilisation, reported_at) select x.id, x.utilisation, ${at}::timestamptz
          from jsonb_to_recordset(${json(rows)}) as x(id uuid, utilisation float8)
          on conflict (link_id) do update set utilisation = excluded.utilisation, reported_at = excluded.reported_at`,
      tx,
    );
    return { links: rows };
  });
}
