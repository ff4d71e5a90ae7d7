/**
 * The Socket.IO contract: the one file both the server and the app import.
 * Server→client events are facts in the past tense; client→server events are commands
 * that answer through an acknowledgement callback.
 */
import type { ErrorCode } from './errors.ts';
import type { SessionUser } from './api.ts';
import type { FeedAnswer, FeedMode, FeedRequest, IncidentCatchUpFrame, IncidentDeltaFrame, IncidentDto, IncidentHeadFrame, IncidentSnapshotFrame } from './incidents.ts';
import type {
  AcknowledgeRequest,
  AssignRequest,
  BulkAction,
  BulkRequest,
  BulkResult,
  MergeRequest,
  NoteRequest,
  ReassignRequest,
  ResolveRequest,
  SeverityRequest,
  SnoozeRequest,
  TakeOverRequest,
  UnacknowledgeRequest,
} from './console.ts';

/** Every command's acknowledgement. */
export type Ack<T = undefined> = (reply: { ok: true; data: T } | { ok: false; code: ErrorCode; message: string }) => void;

/** Why a subscription was refused (`internal`: the server could not read the incidents; asking again may work). */
export interface FeedRefusal {
  code: ErrorCode;
  message: string;
}

/**
 * The build of the app the server serves (SvelteKit's version, from its `_app/version.json`), or null when it
 * serves none. A page of another build speaks another protocol: it fetches the new one as soon as it learns of it
 * (walls reload by themselves), instead of at its hourly check, reading frames it may not understand meanwhile.
 */
export type AppVersion = string | null;

export interface ServerToClientEvents {
  /** Sent once after the handshake: who this socket belongs to. */
  'session:ready': (info: { user: SessionUser; serverTime: string; appVersion: AppVersion }) => void;
  /** The session behind this socket was signed out or revoked; the socket is about to close. */
  'session:ended': (info: { reason: 'signed_out' | 'revoked' | 'expired' }) => void;
  /** Sent every few seconds so screens can tell "quiet" from "stale". */
  'server:heartbeat': (info: { serverTime: string; lastChangeId: number }) => void;
  /** The open incidents of the socket's subscription, as rows (`decodeSnapshot` turns them back); replaces whatever the client held. */
  'incidents:snapshot': (snapshot: IncidentSnapshotFrame) => void;
  /** The top of a console's queue, before its snapshot (when the subscription asked for a `head`). */
  'incidents:head': (head: IncidentHeadFrame) => void;
  /** Incidents that changed since the previous delta or the snapshot (resolved ones included, to remove), as rows (`decodeDelta` turns them back). */
  'incidents:changed': (delta: IncidentDeltaFrame) => void;
  /**
   * The answer to a subscription that asked to resume (`resume`) and could: what changed in scope since the
   * client's id, in place of `incidents:snapshot`; deltas follow as after a snapshot.
   */
  'incidents:resumed': (catchUp: IncidentCatchUpFrame) => void;
  /** The subscription sent with the handshake ({@link HandshakeAuth}) was refused: subscribe with the event to learn why. */
  'incidents:refused': (refusal: FeedRefusal) => void;
  /** Sent once to a wall screen after the handshake (instead of `session:ready`). */
  'wall:ready': (info: { wallId: string; name: string; serverTime: string; appVersion: AppVersion }) => void;
  /** The wall's device token was revoked or rotated, or the wall deleted: the screen is disconnected for good. */
  'wall:disconnected': (info: { reason: 'revoked' | 'rotated' | 'deleted' }) => void;
  /** The wall's layout or settings were edited: screens load them again. */
  'wall:changed': (info: { wallId: string; version: number }) => void;
  /** Nodes, links, groups or positions changed for these clients: load the topology again. */
  'topology:changed': (info: { clients: string[] }) => void;
  /** New link utilisation values (0–1, null = unknown) reported as a metric. */
  'topology:utilisation': (info: { links: { id: string; utilisation: number | null }[] }) => void;
  /** The uptime roll-ups moved on: heatmaps load them again (each after its own short random delay). */
  'uptime:rolled': (info: { at: string }) => void;
}

export interface ClientToServerEvents {
  /** Round-trip check used by the connection indicator. */
  'server:ping': (ack: Ack<{ serverTime: string }>) => void;
  /**
   * Subscribe to incidents in a scope (replacing any earlier subscription of this socket). The server
   * answers with `incidents:snapshot` (or, for a `resume` it can honour, `incidents:resumed`), then
   * `incidents:changed` deltas; the ack says which came. Sent again after a gap or a reconnect that the
   * server could not recover.
   */
  'incidents:subscribe': (request: FeedRequest, ack: Ack<FeedAnswer>) => void;
  /*
   * Incident commands (src/lib/protocol/console.ts has the request schemas): the same domain functions as
   * the REST routes, with the same errors in the ack (`not_found` for incidents outside the user's clients,
   * `forbidden` for viewers and wall screens, `conflict` for a stale `version` or an impossible transition).
   * Each answers with the incident as it is after the change; the change also arrives as a delta.
   */
  /** Acknowledge a triggered incident. */
  'incident:acknowledge': (request: { id: string } & AcknowledgeRequest, ack: Ack<IncidentDto>) => void;
  /** Back to triggered. */
  'incident:unacknowledge': (request: { id: string } & UnacknowledgeRequest, ack: Ack<IncidentDto>) => void;
  /** Assign to a person and/or a team. */
  'incident:assign': (request: { id: string } & AssignRequest, ack: Ack<IncidentDto>) => void;
  /** Reassign with a reason (someone else's incident: lead or admin). */
  'incident:reassign': (request: { id: string } & ReassignRequest, ack: Ack<IncidentDto>) => void;
  /** Assign to me. */
  'incident:take-over': (request: { id: string } & TakeOverRequest, ack: Ack<IncidentDto>) => void;
  /** Snooze until a future time; it wakes up as triggered. */
  'incident:snooze': (request: { id: string } & SnoozeRequest, ack: Ack<IncidentDto>) => void;
  /** Resolve, optionally with a note. */
  'incident:resolve': (request: { id: string } & ResolveRequest, ack: Ack<IncidentDto>) => void;
  /** Add a note to the timeline. */
  'incident:note': (request: { id: string } & NoteRequest, ack: Ack<IncidentDto>) => void;
  /** Change the severity. */
  'incident:set-severity': (request: { id: string } & SeverityRequest, ack: Ack<IncidentDto>) => void;
  /** Merge `sourceIds` into `id`. */
  'incident:merge': (request: { id: string } & MergeRequest, ack: Ack<IncidentDto>) => void;
  /** A bulk action on `ids` or on everything matching `filter`; reports what succeeded and what failed why. */
  'incidents:bulk': (request: { [A in BulkAction]: { action: A } & BulkRequest<A> }[BulkAction], ack: Ack<BulkResult>) => void;
}

/**
 * What a person's socket may send with its handshake (`auth`). `feed` subscribes at once, as
 * `incidents:subscribe` would, so the first snapshot does not wait for the page to ask for it; it is
 * answered by `incidents:snapshot` (or `incidents:resumed`, for a `resume` the server honours) or
 * `incidents:refused`. The app sends it again with every reconnect's handshake, with its resume point.
 * (A wall screen sends its wall id instead.)
 */
export interface HandshakeAuth {
  feed?: FeedRequest;
}

export interface InterServerEvents {}

/** What the server keeps on each socket after the handshake. */
export interface SocketData {
  userId: string;
  user: SessionUser;
  sessionTokenHash: string;
  /** Epoch ms when the session expires; the socket closes then. */
  expiresAt: number;
  /** Client slugs this socket may see (the user's, or a wall's); null = every client. */
  clients: string[] | null;
  /** Set on a wall screen's socket (device cookie): read-only, every command refused. */
  wallId?: string;
  /**
   * A wall screen's standing, kept to end or re-scope it when its wall changes on any server process: the
   * hash of the device token it opened with, the wall's version then, and the newest version it was told of.
   */
  wallScreen?: { tokenHash: string; openedAt: number; toldOf: number };
}

/** Room helpers: never write room names inline. */
export const rooms = {
  user: (userId: string) => `user:${userId}`,
  session: (tokenHash: string) => `session:${tokenHash}`,
  /** Every screen of one wall (to disconnect them when its token is revoked). */
  wall: (wallId: string) => `wall:${wallId}`,
  /** Topology news for one client, or `null` for sockets that see every client. */
  topology: (client: string | null) => `topology:${client ?? '*'}`,
  /**
   * One room per (client set, mode): each room's deltas form one ordered chain. `null` = every client;
   * a set is keyed sorted, so every subscriber of the same clients shares one chain.
   */
  feed: (mode: FeedMode, clients: readonly string[] | null) => `feed:${mode}:${clients === null ? '*' : JSON.stringify([...new Set(clients)].sort())}`,
};
