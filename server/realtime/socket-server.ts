import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.ts';
import type { Metrics } from '../metrics.ts';
import { findSession } from '../auth/sessions.ts';
import { SESSION_COOKIE } from '../auth/authenticate.ts';
import { becomeWallSocket, previewClients, wallOfHandshake, welcomeWallSocket } from '../walls/wall-sockets.ts';
import {
  rooms,
  type AppVersion,
  type ClientToServerEvents,
  type InterServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from '../../src/lib/protocol/events.ts';

/** How long a dropped socket may come back with its rooms and the packets it missed. */
export const RECOVERY_WINDOW_MS = 2 * 60_000;

export type WatchfloorIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type WatchfloorSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface RealtimeServer {
  io: WatchfloorIo;
  /** The id of the newest change broadcast, carried by heartbeats. */
  lastChangeId: number;
  close(): Promise<void>;
}

export interface RealtimeOptions {
  db: Db;
  metrics: Metrics;
  log: FastifyBaseLogger;
  parseCookie: (header: string) => Record<string, string | undefined>;
  /** The build of the app this server serves: every socket is told at its start. */
  appVersion: AppVersion;
  heartbeatMs?: number;
}

/** Socket.IO on the HTTP server: the session cookie authenticates the handshake. */
export function createRealtime(httpServer: HttpServer, options: RealtimeOptions): RealtimeServer {
  const io: WatchfloorIo = new Server(httpServer, {
    serveClient: false,
    // Short blips resume with missed packets; after longer gaps (or on another process) a screen resumes from the
    // change log, or gets a fresh snapshot (see IncidentFeed).
    connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_WINDOW_MS, skipMiddlewares: false },
    maxHttpBufferSize: 1024 * 1024,
  });

  io.use(async (socket, next) => {
    try {
      const cookies = options.parseCookie(socket.request.headers.cookie ?? '');
      // A wall screen names its wall in the handshake and proves it with that wall's device cookie.
      const wall = await wallOfHandshake(options.db, socket.handshake.auth, cookies);
      if (wall) {
        becomeWallSocket(socket, wall);
        return next();
      }
      const token = cookies[SESSION_COOKIE];
      const session = token ? await findSession(options.db, token) : null;
      if (!session) return next(new Error('unauthenticated'));
      if (session.user.mustChangePassword) return next(new Error('password_change_required'));
      socket.data.userId = session.user.id;
      socket.data.sessionTokenHash = session.tokenHash;
      socket.data.user = session.user;
      socket.data.clients = await previewClients(options.db, socket.handshake.auth, session.user.clients);
      socket.data.expiresAt = session.expiresAt.getTime();
      next();
    } catch (error) {
      options.log.error({ err: error }, 'socket authentication failed');
      next(new Error('internal'));
    }
  });

  io.on('connection', (socket) => {
    options.metrics.socketsConnected.inc();
    if (socket.data.wallId !== undefined) welcomeWallSocket(socket, options.appVersion);
    else {
      void socket.join([rooms.user(socket.data.userId), rooms.session(socket.data.sessionTokenHash)]);
      socket.emit('session:ready', { user: socket.data.user, serverTime: new Date().toISOString(), appVersion: options.appVersion });
    }
    // The session's expiry closes the socket too, not only the next HTTP request (a wall's device token does not expire).
    const expiry = socket.data.wallId !== undefined ? undefined : setTimeout(
      () => {
        socket.emit('session:ended', { reason: 'expired' });
        socket.disconnect(true);
      },
      Math.min(Math.max(socket.data.expiresAt - Date.now(), 0), 2 ** 31 - 1),
    );
    socket.on('server:ping', (ack) => {
      if (typeof ack === 'function') ack({ ok: true, data: { serverTime: new Date().toISOString() } });
    });
    socket.on('disconnect', () => {
      clearTimeout(expiry);
      options.metrics.socketsConnected.dec();
    });
  });

  const realtime: RealtimeServer = {
    io,
    lastChangeId: 0,
    async close() {
      clearInterval(heartbeat);
      io.disconnectSockets(true);
      // Not io.close(): that would close the HTTP server, which Fastify closes itself after in-flight requests.
      io.engine.close();
      await io.of('/').adapter.close();
    },
  };
  const heartbeat = setInterval(() => {
    io.emit('server:heartbeat', { serverTime: new Date().toISOString(), lastChangeId: realtime.lastChangeId });
  }, options.heartbeatMs ?? 5000);
  heartbeat.unref();
  return realtime;
}
