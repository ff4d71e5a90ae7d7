import type { Database } from '../db/database.ts';
import { openIncidentSnapshot, readChangeLogAfter, readIncidentNames, readIncidentsVersion, type IncidentNames, type IncidentsVersion } from '../db/incident-store.ts';
import type { IncidentDto, IncidentSnapshot } from '../../src/lib/protocol/incidents.ts';
import type { IncidentChange } from './coalesce.ts';
import type { ChangeLogAfter } from './feed-resume.ts';

/** How long a snapshot waits for a committed change to be published before reading everything again. */
const PUBLISH_WAIT_MS = 250;

/**
 * Every open incident as the published changes left it, so subscriptions' snapshots and the REST
 * reads of the queue and the lead's views come from memory: reading 10,000 open incidents from PGlite
 * takes ~200 ms, and every console, wall and phone asks for them when it opens.
 *
 * Before each use a small query proves the copy current (see {@link IncidentsVersion}). When another
 * server process wrote changes, or incidents were deleted, the copy is read again; when a client, person
 * or team was renamed without change rows (by hand in SQL: Watchfloor's own renames write them, see Renames)
 * the names are read and the incidents showing them updated.
 */
export class OpenIncidents {
  readonly #database: Database;
  #incidents = new Map<string, IncidentDto>();
  /** null until the first read, and after a failed one: the next use reads everything. */
  #version: IncidentsVersion | null = null;
  #reading: Promise<void> | null = null;
  /** Changes published while a read is in flight: applied on top of it once it lands. */
  #publishedDuringRead: IncidentChange[] | null = null;
  /** Snapshots waiting for a change that is committed but not yet published. */
  #waiting = new Set<{ changeId: number; resolve: () => void }>();

  constructor(database: Database) {
    this.#database = database;
  }

  /** Reads the open incidents now, so the first screen to open does not wait for it. */
  warm(): Promise<void> {
    return this.#read();
  }

  /** Called after commit with the changes in change-id order (the writer's publish, in the composition root). */
  apply(changes: readonly IncidentChange[]): void {
    if (this.#publishedDuringRead) this.#publishedDuringRead.push(...changes);
    else if (this.#version) for (const change of changes) this.#applyOne(this.#version, change);
    for (const waiter of this.#waiting) if ((this.#version?.lastChangeId ?? 0) >= waiter.changeId) waiter.resolve();
  }

  /** The open incidents of these clients (null = all, incidents without a client included), current as of the returned id. */
  async snapshot(clients: readonly string[] | null): Promise<IncidentSnapshot> {
    const current = await readIncidentsVersion(this.#database);
    // A change committed an instant ago is published an instant later: wait for it rather than read everything.
    if (this.#version && this.#version.namesDigest === current.namesDigest && this.#version.lastChangeId < current.lastChangeId) {
      await this.#publishedUpTo(current.lastChangeId, PUBLISH_WAIT_MS);
    }
    const held = this.#version;
    const stale =
      // Behind the table: another server process wrote changes. (Ahead is fine: a change committed after the check.)
      !held ||
      held.lastChangeId < current.lastChangeId ||
      // As far as the table, yet not as many open: rows went without a change row (deleted by hand in SQL, say).
      (held.lastChangeId === current.lastChangeId && this.#incidents.size !== current.openCount);
    if (stale) await this.#read();
    else if (held.namesDigest !== current.namesDigest) this.#rename(held, await readIncidentNames(this.#database));
    // From here to the return nothing awaits: the incidents and the id are taken at the same moment.
    const covered = clients === null ? null : new Set(clients);
    const incidents: IncidentDto[] = [];
    for (const incident of this.#incidents.values()) {
      if (covered === null || (incident.client !== null && covered.has(incident.client))) incidents.push(incident);
    }
    return { lastChangeId: this.#version?.lastChangeId ?? 0, incidents };
  }

  /**
   * The other way a subscribing screen starts: the change log after the id it holds (at most `limit` incident
   * changes), for a resume. Read from the database, not from memory: it holds what other server processes
   * committed and this one has not published yet.
   */
  changeLogAfter(after: number, limit: number): Promise<ChangeLogAfter> {
    return readChangeLogAfter(this.#database, after, limit);
  }

  #publishedUpTo(changeId: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter = {
        changeId,
        resolve: () => {
          clearTimeout(timer);
          this.#waiting.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.resolve, timeoutMs);
      this.#waiting.add(waiter);
    });
  }

  #read(): Promise<void> {
    this.#reading ??= (async () => {
      this.#publishedDuringRead = [];
      try {
        const { incidents, ...version } = await openIncidentSnapshot(this.#database, null);
        this.#incidents = new Map(incidents.map((incident) => [incident.id, incident]));
        this.#version = version;
        for (const change of this.#publishedDuringRead) this.#applyOne(version, change);
      } catch (error) {
        this.#version = null;
        throw error;
      } finally {
        this.#publishedDuringRead = null;
        this.#reading = null;
      }
    })();
    return this.#reading;
  }

  /** Incidents showing a name that changed get a copy with the new one (the old objects may be in flight to clients). */
  #rename(version: IncidentsVersion, names: IncidentNames): void {
    if (this.#version !== version) return; // read again meanwhile: that read has the names
    for (const incident of this.#incidents.values()) {
      const clientName = incident.client === null ? null : (names.clients[incident.client] ?? null);
      const assigneeName = incident.assigneeId === null ? null : (names.users[incident.assigneeId] ?? null);
      const teamName = incident.teamId === null ? null : (names.teams[incident.teamId] ?? null);
      if (clientName !== incident.clientName || assigneeName !== incident.assigneeName || teamName !== incident.teamName) {
        this.#incidents.set(incident.id, { ...incident, clientName, assigneeName, teamName });
      }
    }
    version.namesDigest = names.namesDigest;
  }

  #applyOne(version: IncidentsVersion, { changeId, incident }: IncidentChange): void {
    if (changeId <= version.lastChangeId) return; // already in what was read
    if (incident.status === 'resolved') this.#incidents.delete(incident.id);
    else this.#incidents.set(incident.id, incident);
    version.lastChangeId = changeId;
  }
}
