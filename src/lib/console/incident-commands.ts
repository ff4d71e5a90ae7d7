/**
 * The console's incident commands, as the app sends them: over the socket with an
 * acknowledgement when it is connected (one round trip, no HTTP overhead), over REST when it is
 * not (a command is never buffered to be sent at some later reconnect). Both reach the same
 * server-side domain function, with the same errors.
 */
import type { Socket } from 'socket.io-client';
import { api, ApiError, failureMessage } from '$lib/api/client.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '$lib/protocol/events.ts';
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
} from '$lib/protocol/console.ts';
import type { ErrorCode } from '$lib/protocol/errors.ts';
import type { IncidentDto } from '$lib/protocol/incidents.ts';

type ConsoleSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** How long to wait for a command's acknowledgement before calling it failed. */
export const COMMAND_TIMEOUT_MS = 10_000;

/** A refused or failed command, with the server's code and its message (written for people). */
export class CommandError extends Error {
  readonly code: ErrorCode | 'timeout';
  constructor(code: ErrorCode | 'timeout', message: string) {
    super(message);
    this.code = code;
  }
}

/** The request body of each single-incident command. */
export interface CommandRequests {
  acknowledge: AcknowledgeRequest;
  unacknowledge: UnacknowledgeRequest;
  assign: AssignRequest;
  reassign: ReassignRequest;
  'take-over': TakeOverRequest;
  snooze: SnoozeRequest;
  resolve: ResolveRequest;
  note: NoteRequest;
  severity: SeverityRequest;
  merge: MergeRequest;
}
export type CommandName = keyof CommandRequests;

const SOCKET_EVENT = {
  acknowledge: 'incident:acknowledge',
  unacknowledge: 'incident:unacknowledge',
  assign: 'incident:assign',
  reassign: 'incident:reassign',
  'take-over': 'incident:take-over',
  snooze: 'incident:snooze',
  resolve: 'incident:resolve',
  note: 'incident:note',
  severity: 'incident:set-severity',
  merge: 'incident:merge',
} as const satisfies Record<CommandName, keyof ClientToServerEvents>;

const REST_PATH: Record<CommandName, string> = {
  acknowledge: 'acknowledge',
  unacknowledge: 'unacknowledge',
  assign: 'assign',
  reassign: 'reassign',
  'take-over': 'take-over',
  snooze: 'snooze',
  resolve: 'resolve',
  note: 'notes',
  severity: 'severity',
  merge: 'merge',
};

type Reply<T> = { ok: true; data: T } | { ok: false; code: ErrorCode; message: string };

/** Emits with an ack and a timeout; the socket's typed `emitWithAck` is too generic to call through a map. */
function emitCommand<T>(socket: ConsoleSocket, event: string, payload: unknown): Promise<T> {
  const emitter = socket.timeout(COMMAND_TIMEOUT_MS) as unknown as {
    emit(event: string, payload: unknown, ack: (error: Error | null, reply: Reply<T>) => void): void;
  };
  return new Promise((resolve, reject) => {
    emitter.emit(event, payload, (error, reply) => {
      if (error) reject(new CommandError('timeout', 'the server did not answer in time; check the incident before trying again'));
      else if (reply.ok) resolve(reply.data);
      else reject(new CommandError(reply.code, reply.message));
    });
  });
}

async function overRest<T>(path: string, body: unknown): Promise<T> {
  try {
    return await api<T>('POST', path, body);
  } catch (error) {
    if (error instanceof ApiError) throw new CommandError(error.code, error.message);
    throw new CommandError('internal', failureMessage(error));
  }
}

/** Sends one command for one incident; resolves with the incident as it is after the change. */
export function runCommand<C extends CommandName>(
  socket: ConsoleSocket | null,
  command: C,
  incidentId: string,
  request: CommandRequests[C],
): Promise<IncidentDto> {
  if (socket?.connected) return emitCommand<IncidentDto>(socket, SOCKET_EVENT[command], { id: incidentId, ...request });
  return overRest<{ incident: IncidentDto }>(`/incidents/${encodeURIComponent(incidentId)}/${REST_PATH[command]}`, request).then(
    (reply) => reply.incident,
  );
}

/** Sends a bulk command (on ids or on a filter); resolves with what succeeded and what failed why. */
export function runBulk<A extends BulkAction>(socket: ConsoleSocket | null, action: A, request: BulkRequest<A>): Promise<BulkResult> {
  if (socket?.connected) return emitCommand<BulkResult>(socket, 'incidents:bulk', { action, ...request });
  return overRest<BulkResult>(`/incidents/bulk/${action}`, request);
}

/** A refusal told the way a person needs it: what happened and what to do. */
export function describeCommandError(error: unknown, incident?: { number: number }): string {
  const subject = incident ? `#${incident.number}` : 'the incident';
  if (error instanceof CommandError) {
    switch (error.code) {
      case 'conflict':
        return `${subject} changed before your action reached it: ${error.message}. The queue shows its current state; check it and try again.`;
      case 'forbidden':
        return `You may not do that: ${error.message}.`;
      case 'not_found':
        return `${subject} no longer exists or is outside your clients.`;
      case 'timeout':
        return `No answer from the server: ${error.message}.`;
      default:
        return `${error.message}.`;
    }
  }
  return error instanceof Error ? error.message : 'the action failed';
}
