/**
 * The Socket.IO contract: the one file both the server and the app import.
 * Server→client events are facts in the past tense; client→server events are commands
 * that answer through an acknowledgement callback.
 */
import type { ErrorCode } from './errors.ts';
import type { SessionUser } from './api.ts';
import type { FeedMode, FeedScope, IncidentDelta, IncidentSnapshot } from './incidents.ts';

/** Every command's acknowledgement. */
export type Ack<T = undefined> = (reply: { ok: true; data: T } | { ok: false; code: ErrorCode; message: string }) => void;

export interface ServerToClientEvents {
  /** Sent once after the handshake: who this socket belongs to. */
  'session:ready': (info: { user: SessionUser; serverTime: string }) => void;
  /** The session behind this socket was signed out or revoked; the socket is about to close. */
  'session:ended': (info: { reason: 'signed_out' | 'revoked' | 'expired' }) => void;
  /** Sent every few seconds so screens can tell "quiet" from "stale". */
  'server:heartbeat': (info: { serverTime: string; lastChangeId: number }) => void;
  /** The open incidents of the socket's subscription; replaces whatever the client held. */
  'incidents:snapshot': (snapshot: IncidentSnapshot) => void;
  /** Incidents that changed since the previous delta or the snapshot (resolved ones included, to remove). */
  'incidents:changed': (delta: IncidentDelta) => void;
}

export interface ClientToServerEvents {
  /** Round-trip check used by the connection indicator. */
  'server:ping': (ack: Ack<{ serverTime: string }>) => void;
  /**
   * Subscribe to incidents in a scope (replacing any earlier subscription of this socket). The server
   * answers with `incidents:snapshot`, then `incidents:changed` deltas. Sent again after a gap or a
   * reconnect that the server could not recover.
   */
  'incidents:subscribe': (request: { scope: FeedScope; mode: FeedMode }, ack: Ack<{ lastChangeId: number }>) => void;
}

export interface InterServerEvents {}

/** What the server keeps on each socket after the handshake. */
export interface SocketData {
  userId: string;
  user: SessionUser;
  sessionTokenHash: string;
  /** Epoch ms when the session expires; the socket closes then. */
  expiresAt: number;
}

/** Room helpers: never write room names inline. */
export const rooms = {
  user: (userId: string) => `user:${userId}`,
  session: (tokenHash: string) => `session:${tokenHash}`,
  /** One room per (scope, mode): each room's deltas form one ordered chain. */
  feed: (mode: FeedMode, client: string | null) => `feed:${mode}:${client ?? '*'}`,
};
