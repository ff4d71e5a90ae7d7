/**
 * The one composition root: config → database → migrations → HTTP + Socket.IO → listen.
 * Everything else receives what it needs from here.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config, ConfigError } from './config.ts';
import { openDatabase, SERVER_APPLICATION_NAME, type Database } from './db/database.ts';
import { DataFolderInUseError } from './db/data-lock.ts';
import { createMetrics } from './metrics.ts';
import { appVersionOf, createHttp } from './http/create-http.ts';
import { createRealtime } from './realtime/socket-server.ts';
import { installAuthentication } from './auth/authenticate.ts';
import { sessionRoutes } from './api/session-routes.ts';
import { userRoutes } from './api/user-routes.ts';
import { healthRoutes } from './api/health-routes.ts';
import { sourceRoutes } from './api/source-routes.ts';
import type { AppContext } from './http/app-context.ts';
import { ensureFirstAdmin } from './auth/first-admin.ts';
import { startAdminSocket, type AdminSocket } from './cli/admin-socket.ts';
import { pruneExpiredSessions } from './auth/sessions.ts';
import { ChangeWriter } from './engine/change-writer.ts';
import { viewerOf } from './incidents/incident-queries.ts';
import { IncidentFeed } from './realtime/incident-feed.ts';
import { OpenIncidents } from './realtime/open-incidents.ts';
import { ChangeFollower } from './realtime/change-follower.ts';
import { SocketRevocations } from './realtime/socket-revocations.ts';
import { ScreenNews } from './realtime/screen-news.ts';
import { hearOtherProcesses } from './realtime/hear-other-processes.ts';
import type { IncidentChange } from './realtime/coalesce.ts';
import { IngestPipeline } from './ingest/ingest-pipeline.ts';
import { ingestRoutes } from './api/ingest-routes.ts';
import { SourceLookup } from './ingest/source-lookup.ts';
import { incidentRoutes } from './api/incident-routes.ts';
import { infoRoutes } from './api/info-routes.ts';
import { newestChangeId, pruneSignals, readChangesAfter } from './db/incident-store.ts';
import { EmbeddedMaintenance } from './db/embedded-maintenance.ts';
import { resetDemoEstate, startDemo, type Demo } from './demo/demo-estate.ts';
import { installWallFeatures } from './walls/wall-features.ts';
import { IncidentCommands } from './incidents/incident-commands.ts';
import { Renames } from './incidents/renames.ts';
import { registerIncidentSocketCommands } from './incidents/incident-socket-commands.ts';
import { startSnoozeWaker, type SnoozeWaker } from './incidents/snooze-waker.ts';
import { teamRoutes } from './api/team-routes.ts';
import { auditRoutes } from './api/audit-routes.ts';
import { meRoutes } from './api/me-routes.ts';
import { PushService } from './push/push-service.ts';
import { pushRoutes } from './push/push-routes.ts';
import { StoredSecretError } from './auth/secret-box.ts';
import { openSecretKeys } from './auth/secret-key.ts';
import { sealStoredSecrets } from './db/seal-stored-secrets.ts';
import { databaseKnowsTimeZone } from './uptime/uptime-days.ts';

export interface RunningServer {
  url: string;
  port: number;
  context: AppContext;
  /** Graceful: stop accepting, finish in-flight requests, close sockets, close the database. */
  stop(): Promise<void>;
}

/** How a server starts besides its configuration. */
export interface StartOptions {
  /** Where the start's lines for the operator go (default: stdout). */
  print?: (line: string) => void;
  /** How often embedded PGlite's maintenance runs (default: every minute); tests shorten it. */
  maintenanceIntervalMs?: number;
}

/** Starts a complete Watchfloor server; used by `npm start` and by the integration tests. */
export async function startWatchfloor(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const print = options.print ?? ((line: string) => console.log(line));
  const metrics = createMetrics();
  const database: Database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, applicationName: SERVER_APPLICATION_NAME });
  let adminSocket: AdminSocket | null = null;
  let otherProcesses: { stop(): Promise<void> } | null = null;
  try {
    await database.migrate();
    // Intl knew the zone (config.ts); the roll-ups cut days in Postgres, which has its own tz database.
    if (!(await databaseKnowsTimeZone(database, config.timeZone))) {
      throw new ConfigError(`environment variable WATCHFLOOR_TIMEZONE: the database does not know the time zone ${config.timeZone}`);
    }
    // After the database: on PGlite its lock is held, so a refused second process leaves the key file alone.
    const keys = await openSecretKeys(config, { generate: true });
    const { secrets } = keys;
    if (keys.generated) {
      print(`Generated the key that encrypts stored secrets: ${keys.generated}. Keep a copy apart from backups of the data folder; other server processes on this database need it too (WATCHFLOOR_SECRET_KEY).`);
    }
    const sealedNow = await sealStoredSecrets(database, secrets);
    if (sealedNow.resealed > 0) {
      print(`Re-sealed ${sealedNow.resealed} stored secrets with the current key (key id ${secrets.keyId}); they were sealed with key ${sealedNow.fromKeyIds.join(', ')}.`);
    }
    const app = await createHttp(config, metrics);
    app.log.info(
      { secretKeyId: secrets.keyId, secretKeyFrom: secrets.keyOrigin, previousSecretKeyIds: secrets.previousKeyIds, encryptedNow: sealedNow.encrypted, resealedNow: sealedNow.resealed },
      'stored secrets are encrypted',
    );
    const realtime = createRealtime(app.server, { db: database.db, metrics, log: app.log, parseCookie: app.parseCookie.bind(app), appVersion: appVersionOf(config.appDir) });
    const openIncidents = new OpenIncidents(database);
    const feed = new IncidentFeed({
      realtime,
      openIncidents,
      viewerOf: (userId) => viewerOf(database, { userId }),
      coalesceMs: config.coalesceMs,
      log: app.log,
      metrics,
    });
    const push = await PushService.start(database, secrets, config.push, app.log);
    const revocations = new SocketRevocations({ io: realtime.io, database, log: app.log });
    // One id for this process: its writer signs its change notices with it, its screen news too.
    const processId = randomUUID();
    const news = new ScreenNews({ io: realtime.io, database, log: app.log, processId });
    // Committed changes, in change-id order: the copy in memory first (snapshots, REST and bulk commands
    // read it), then the screens.
    const publish = (changes: IncidentChange[]) => {
      openIncidents.apply(changes);
      feed.publish(changes);
    };
    // On Postgres other processes commit too: every commit, whoever made it, is published through the follower.
    const follower = database.listen
      ? new ChangeFollower({ after: await newestChangeId(database), read: (after, before, limit) => readChangesAfter(database, after, before, limit), publish, ownWriterId: processId, log: app.log })
      : null;
    // The phones are paged for this process's commits only: the process that commits a change pages for it.
    const writer = new ChangeWriter(
      database,
      (changes) => {
        if (follower) follower.committedHere(changes);
        else publish(changes);
        push.committed(changes);
      },
      processId,
    );
    // One copy of the sources ingest looks up: a change to a source, in this process or another, makes it forget.
    const sourceLookup = new SourceLookup({ database, secrets, cacheMs: config.sourceCacheMs });
    otherProcesses = follower ? await hearOtherProcesses({ database, follower, revocations, news, sources: sourceLookup, log: app.log }) : null;
    const commands = new IncidentCommands({ database, writer, openIncidents });
    const renames = new Renames(database, writer);
    const context: AppContext = { config, database, secrets, metrics, realtime, revocations, news, commands, renames, openIncidents, push };
    const pipeline = new IngestPipeline({ database, writer, metrics, reopenWindowMs: config.reopenWindowMs });
    installAuthentication(app, database.db);
    sessionRoutes(app, context);
    userRoutes(app, context);
    sourceRoutes(app, context, sourceLookup);
    healthRoutes(app, context);
    ingestRoutes(app, context, pipeline, sourceLookup);
    incidentRoutes(app, context, commands);
    teamRoutes(app, context);
    auditRoutes(app, context);
    meRoutes(app, context);
    pushRoutes(app, context);
    registerIncidentSocketCommands(realtime, commands, app.log);
    infoRoutes(app, context);
    const walls = installWallFeatures(app, context);

    await ensureFirstAdmin(database.db, print);
    const snoozeWaker: SnoozeWaker = startSnoozeWaker({ database, writer, log: app.log });
    let demo: Demo | null = null;
    if (database.kind === 'pglite' && config.databaseUrl !== 'memory://') {
      // `watchfloor demo reset` through the socket restarts the running generator with fresh tokens.
      adminSocket = await startAdminSocket(config.dataDir, database, app.log, {
        renames,
        resetDemo: async () => {
          if (demo) await demo.reset();
          else await resetDemoEstate(database, writer);
          await walls.topology.layout();
        },
        topologyImported: (clients) => walls.topologyImported(clients),
        userRevoked: (userId) => revocations.end({ userId, reason: 'revoked' }),
        sourceChanged: () => sourceLookup.forget(),
        // This server's own ring: `secrets rotate-key` run through the socket re-seals with it and switches it.
        secretsSetup: async () => ({ ...keys, generated: null, runningServer: true }),
      });
    }
    await openIncidents.warm();
    await app.listen({ port: config.port, host: config.host });
    const { port } = app.server.address() as AddressInfo;
    const housekeeping = setInterval(() => {
      const retention = new Date(Date.now() - config.signalRetentionDays * 86_400_000);
      pruneExpiredSessions(database.db)
        .then(() => pruneSignals(database, retention))
        .catch((err: unknown) => app.log.warn({ err }, 'housekeeping failed'));
    }, 3600_000);
    housekeeping.unref();
    // A Postgres server vacuums and checkpoints by itself; embedded PGlite has no process to do it.
    const maintenance = database.kind === 'pglite' ? new EmbeddedMaintenance(database, { log: app.log }) : null;
    maintenance?.start(options.maintenanceIntervalMs);
    const wildcard = config.host === '0.0.0.0' || config.host === '::';
    const url = `http://${wildcard ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    // The demo posts to its own webhooks: over loopback when listening everywhere, else where we listen.
    demo = config.demo ? await startDemo({ database, writer, url: wildcard ? `http://127.0.0.1:${port}` : url, log: app.log }) : null;
    await walls.started({ demo: demo !== null, url, print });

    let stopping: Promise<void> | null = null;
    return {
      url,
      port,
      context,
      stop() {
        stopping ??= (async () => {
          clearInterval(housekeeping);
          demo?.stop();
          await walls.stop();
          await snoozeWaker.stop();
          await adminSocket?.close();
          feed.close();
          await realtime.close();
          await app.close();
          await writer.idle();
          await otherProcesses?.stop();
          await push.close();
          await maintenance?.stop();
          await database.close();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await adminSocket?.close();
    await otherProcesses?.stop();
    await database.close();
    throw error;
  }
}

/** `npm start`: reads the environment, starts the server, shuts down gracefully on SIGTERM/SIGINT. */
export async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`watchfloor: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  if (!fs.existsSync(config.appDir)) console.warn(`watchfloor: no app build in ${config.appDir}; run \`npm run build\``);
  let server: RunningServer;
  try {
    server = await startWatchfloor(config);
  } catch (error) {
    if (error instanceof DataFolderInUseError || error instanceof StoredSecretError) {
      console.error(`watchfloor: ${error.message}`);
      process.exit(1);
    }
    if (error instanceof ConfigError) {
      console.error(`watchfloor: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  console.log(`Watchfloor is running at ${server.url} (database: ${server.context.database.kind})`);
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) process.exit(1); // a second Ctrl-C means now
    console.log(`watchfloor: ${signal} received, shutting down`);
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('watchfloor: shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (import.meta.main) await main();
