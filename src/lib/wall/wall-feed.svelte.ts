import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, FeedRefusal, ServerToClientEvents } from '$lib/protocol/events.ts';
import { decodeCatchUp, decodeDelta, decodeSnapshot, type FeedRequest, type IncidentCatchUp, type IncidentDelta, type IncidentDto, type IncidentSnapshot } from '$lib/protocol/incidents.ts';
import { applyDelta, applyResume, applySnapshot, awaitAnswer, emptySync, resumePoint, type SyncResult, type SyncState } from '$lib/realtime/incident-sync.ts';
import { compareIncidents } from '$lib/domain/priority.ts';
import { screenStatus, type ScreenStatus, type SocketPhase } from '$lib/realtime/screen-status.ts';
import { retryDelay } from '$lib/realtime/retry-delay.ts';
import { serverServes } from '$lib/realtime/server-build.ts';

/** No update or heartbeat for this long and the wall says STALE, whatever the socket claims. */
export const WALL_STALE_AFTER_MS = 10_000;

export type WallStatus = ScreenStatus | 'disconnected';

export interface WallFeedEvents {
  /** Nodes, links or positions changed for some clients. */
  topologyChanged?: () => void;
  utilisation?: (links: { id: string; utilisation: number | null }[]) => void;
  uptimeRolled?: () => void;
  /** The wall's layout or settings were edited. */
  wallChanged?: () => void;
  /**
   * Connected again without Socket.IO's recovery (a restart, a long outage): reload what is not incidents
   * (topology, heatmap), whose news may have been missed. The incidents catch up by themselves.
   */
  resynced?: () => void;
  /** Critical incidents that were not critical (or not there) a moment ago. */
  newCriticals?: (incidents: IncidentDto[]) => void;
}

/**
 * A wall screen's one connection: its device cookie (sent by the browser; the page never sees it)
 * proves which wall it is. Keeps the wall's open incidents from a snapshot and ordered deltas, knows
 * when it is stale, reconnects forever with backoff and jitter, and ends only when the server says
 * the screen was disconnected (token revoked or rotated, wall deleted). Subscribing again (a reconnect, a
 * gap) it asks to resume from the change id it holds: after a server restart every wall then gets what
 * changed meanwhile, not all the open incidents at once.
 */
export class WallFeed {
  #status = $state<SocketPhase | 'disconnected'>('connecting');
  #lastMessageAt = $state<number | null>(null);
  #now = $state(Date.now());
  #incidents = $state.raw<IncidentDto[]>([]);
  #ready = $state(false);
  #refusal = $state<FeedRefusal | null>(null);
  #disconnectedReason = $state<string | null>(null);
  #serverOffsetMs = $state(0);
  #sync: SyncState = emptySync();
  #retry: ReturnType<typeof setTimeout> | null = null;
  #attempt = 0;
  readonly #ticker: ReturnType<typeof setInterval>;
  readonly #events: WallFeedEvents;
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;

  constructor(wallId: string, events: WallFeedEvents = {}, url = '/') {
    this.#events = events;
    this.socket = io(url, {
      auth: { wallId },
      withCredentials: true,
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10_000,
      randomizationFactor: 0.5,
      transports: ['websocket', 'polling'],
    });
    const s = this.socket;
    s.on('connect', () => {
      this.#attempt = 0;
      this.#heard('live');
      // A recovered connection missed nothing; otherwise start over from a snapshot.
      if (!s.recovered) {
        this.#subscribe();
        if (this.#ready) this.#events.resynced?.();
      }
    });
    s.on('wall:ready', ({ serverTime, appVersion }) => {
      this.#serverOffsetMs = Date.parse(serverTime) - Date.now();
      serverServes(appVersion);
      this.#heard('live');
    });
    s.on('server:heartbeat', () => this.#heard());
    s.on('incidents:snapshot', (frame) => this.#onSnapshot(decodeSnapshot(frame)));
    s.on('incidents:resumed', (catchUp) => this.#onResumed(decodeCatchUp(catchUp)));
    s.on('incidents:changed', (delta) => this.#onDelta(decodeDelta(delta)));
    s.on('topology:changed', () => this.#events.topologyChanged?.());
    s.on('topology:utilisation', ({ links }) => this.#events.utilisation?.(links));
    s.on('uptime:rolled', () => this.#events.uptimeRolled?.());
    s.on('wall:changed', () => this.#events.wallChanged?.());
    s.on('wall:disconnected', ({ reason }) => this.#end(reason === 'deleted' ? 'the wall was deleted' : `its device token was ${reason}`));
    s.on('disconnect', (reason) => {
      if (this.#status === 'disconnected') return;
      this.#status = 'reconnecting';
      // The server closing our socket (a restart, a changed wall) is not a goodbye: Socket.IO does not
      // retry those by itself, so we do.
      if (reason === 'io server disconnect') this.#scheduleRetry();
    });
    s.on('connect_error', (error) => {
      if (this.#status === 'disconnected') return;
      // The handshake refused the device cookie: revoked, rotated, never given. Nothing to retry.
      if (error.message === 'unauthenticated') return this.#end('its device token is no longer valid');
      this.#status = this.#status === 'connecting' && this.#lastMessageAt === null ? 'connecting' : 'reconnecting';
      if (!s.active) this.#scheduleRetry();
    });
    this.#ticker = setInterval(() => (this.#now = Date.now()), 1000);
  }

  /** live / reconnecting / stale (nothing heard for 10 s) / refused (the incidents subscription) / disconnected for good. */
  get status(): WallStatus {
    if (this.#status === 'disconnected') return 'disconnected';
    const silentTooLong = this.#lastMessageAt !== null && this.#now - this.#lastMessageAt > WALL_STALE_AFTER_MS;
    return screenStatus(this.#status, silentTooLong, this.#refusal !== null);
  }
  /** When the last update or heartbeat arrived (epoch ms), for "STALE since …" and "updated 3 s ago". */
  get lastMessageAt(): number | null {
    return this.#lastMessageAt;
  }
  /** The clock, ticking every second (server-corrected). */
  get now(): number {
    return this.#now + this.#serverOffsetMs;
  }
  get disconnectedReason(): string | null {
    return this.#disconnectedReason;
  }
  get ready(): boolean {
    return this.#ready;
  }
  /** Why the server refused the subscription, while no snapshot has come (asked again by itself, with backoff). */
  get refusal(): FeedRefusal | null {
    return this.#ready ? null : this.#refusal;
  }
  /** Why the server refused the subscription after incidents were shown, until a snapshot comes again: they stay, marked as not updating. */
  get notUpdating(): FeedRefusal | null {
    return this.#ready ? this.#refusal : null;
  }
  /** Open incidents of the wall's clients, most urgent first (snoozed ones included: the map shows them). */
  get incidents(): IncidentDto[] {
    return this.#incidents;
  }

  #heard(status?: 'live') {
    this.#lastMessageAt = Date.now();
    this.#now = this.#lastMessageAt;
    if (status) this.#status = status;
  }

  #scheduleRetry(): void {
    if (this.#retry !== null || this.#status === 'disconnected') return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (this.#status !== 'disconnected' && !this.socket.connected) this.socket.connect();
    }, retryDelay(this.#attempt++));
  }

  #subscribe(): void {
    // The incidents stay on screen, and are resumed from when the server can; deltas wait for the answer.
    this.#sync = awaitAnswer(this.#sync);
    const resume = resumePoint(this.#sync);
    const request: FeedRequest = resume ? { scope: {}, mode: 'screen', resume } : { scope: {}, mode: 'screen' };
    this.socket.emit('incidents:subscribe', request, (reply) => {
      if (reply.ok) return;
      this.#refusal = { code: reply.code, message: reply.message };
      this.#scheduleResubscribe();
    });
  }

  #scheduleResubscribe(): void {
    setTimeout(() => {
      if (this.socket.connected) this.#subscribe();
    }, retryDelay(this.#attempt++));
  }

  #onSnapshot(snapshot: IncidentSnapshot): void {
    this.#heard();
    this.#refusal = null;
    const before = this.#ready ? new Map(this.#incidents.map((i) => [i.id, i])) : null;
    this.#apply(applySnapshot(this.#sync, snapshot), before);
  }

  /** A catch-up in place of a snapshot: shown as a snapshot would be (a new critical in it chimes, as in a snapshot). */
  #onResumed(catchUp: IncidentCatchUp): void {
    this.#heard();
    this.#refusal = null;
    const before = this.#ready ? new Map(this.#incidents.map((i) => [i.id, i])) : null;
    this.#apply(applyResume(this.#sync, catchUp), before);
  }

  #onDelta(delta: IncidentDelta): void {
    this.#heard();
    const before = new Map(this.#incidents.map((i) => [i.id, i]));
    this.#apply(applyDelta(this.#sync, delta), this.#ready ? before : null);
  }

  #apply(result: SyncResult, before: Map<string, IncidentDto> | null): void {
    if (result.resync) return this.#subscribe();
    this.#sync = result.state;
    if (!result.state.ready) return;
    this.#ready = true;
    const list = [...result.state.incidents.values()].sort(compareIncidents);
    this.#incidents = list;
    if (before) {
      const fresh = list.filter((i) => i.severity === 'critical' && before.get(i.id)?.severity !== 'critical');
      if (fresh.length) this.#events.newCriticals?.(fresh);
    }
  }

  #end(reason: string): void {
    this.#status = 'disconnected';
    this.#disconnectedReason = reason;
    if (this.#retry) clearTimeout(this.#retry);
    this.socket.disconnect();
  }

  close(): void {
    clearInterval(this.#ticker);
    if (this.#retry) clearTimeout(this.#retry);
    this.socket.disconnect();
  }
}
