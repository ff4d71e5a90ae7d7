import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { Metrics } from '../metrics.ts';
import type { ActiveSession } from '../auth/sessions.ts';
import type { Role } from '../../src/lib/protocol/api.ts';
import type { RealtimeServer } from '../realtime/socket-server.ts';
import type { IncidentCommands } from '../incidents/incident-commands.ts';
import type { Renames } from '../incidents/renames.ts';
import type { PushService } from '../push/push-service.ts';
import type { OpenIncidents } from '../realtime/open-incidents.ts';
import type { SecretBox } from '../auth/secret-box.ts';
import type { SocketRevocations } from '../realtime/socket-revocations.ts';
import type { ScreenNews } from '../realtime/screen-news.ts';

/** What every route module receives from the composition root. */
export interface AppContext {
  config: Config;
  database: Database;
  /** Seals and opens the secrets stored in the database (push keys, sources' HMAC secrets). */
  secrets: SecretBox;
  metrics: Metrics;
  realtime: RealtimeServer;
  /** Ends the sockets of ended sessions and of walls' revoked screens, in every server process on the database. */
  revocations: SocketRevocations;
  /** Screen news besides incidents (wall layout, topology, uptime), in every server process on the database. */
  news: ScreenNews;
  /** The incident commands (acknowledge, assign, …): every way in (REST, sockets, push) calls these. */
  commands: IncidentCommands;
  /** Changes that may rename a client, person or team: run with the change rows that show open screens the new name. */
  renames: Renames;
  /** Every open incident, kept current in memory: snapshots and the queue's reads come from here. */
  openIncidents: OpenIncidents;
  /** Web Push: devices, paging, push-action tokens. */
  push: PushService;
}

declare module 'fastify' {
  interface FastifyRequest {
    session: ActiveSession | null;
  }
  interface FastifyContextConfig {
    /** No session needed (sign-in, health, token-authenticated webhooks). */
    public?: boolean;
    /** The least role the route needs; any signed-in user when absent. */
    role?: Role;
    /** Reachable by a session whose one-time password has not been replaced yet (who am I, sign out, change it). */
    temporaryPasswordAllowed?: boolean;
  }
}
