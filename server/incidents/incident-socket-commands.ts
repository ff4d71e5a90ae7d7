/**
 * Incident commands over Socket.IO: validate the payload with the same schema as REST, call the
 * same domain function, answer through the acknowledgement. Wall screens (no user) are read-only.
 */
import { z } from 'zod';
import type { FastifyBaseLogger } from 'fastify';
import type { RealtimeServer, WatchfloorSocket } from '../realtime/socket-server.ts';
import type { Ack, ClientToServerEvents } from '../../src/lib/protocol/events.ts';
import { BULK_ACTIONS, bulkRequests, type BulkAction } from '../../src/lib/protocol/console.ts';
import { INCIDENT_COMMANDS, type CommandEvent } from './command-table.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { actorOf, type Actor } from './actor.ts';
import type { IncidentCommands } from './incident-commands.ts';

const withId = z.object({ id: z.uuid('must be an incident id') });

/** Splits `{ id, ...rest }` and validates the id; the command validates the rest. */
function splitId(request: unknown): { id: string; input: Record<string, unknown> } {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new DomainError('validation_failed', 'request must be an object');
  const { id, ...rest } = request as Record<string, unknown>;
  return { id: parseOrThrow(withId, { id }, 'request').id, input: rest };
}

export function registerIncidentSocketCommands(realtime: RealtimeServer, commands: IncidentCommands, log: FastifyBaseLogger): void {
  realtime.io.on('connection', (socket) => {
    /** Runs a command for this socket's user and answers through the ack; unknown failures are logged, not leaked. */
    const handle = <R>(event: string, run: (actor: Actor, request: unknown) => Promise<R>) => async (request: unknown, ack: unknown) => {
      if (typeof ack !== 'function') return;
      const reply = ack as Ack<R>;
      try {
        const actor = actorFor(socket);
        reply({ ok: true, data: await run(actor, request) });
      } catch (error) {
        if (error instanceof DomainError) return reply({ ok: false, code: error.code, message: error.message });
        log.error({ err: error, event }, 'socket command failed');
        reply({ ok: false, code: 'internal', message: 'internal error' });
      }
    };
    const on = (event: CommandEvent, run: (actor: Actor, request: unknown) => Promise<unknown>) => {
      // The typed map cannot express "any command" generically; each handler validates what it receives.
      (socket.on as (event: string, listener: (request: unknown, ack: unknown) => void) => void)(event, (request, ack) => void handle(event, run)(request, ack));
    };
    for (const command of INCIDENT_COMMANDS) {
      on(command.event, (actor, r) => {
        const { id, input } = splitId(r);
        return command.execute(commands, actor, id, input, 'request');
      });
    }
    socket.on(
      'incidents:bulk',
      handle('incidents:bulk', (actor, r) => {
        const action = (r as { action?: unknown } | null)?.action;
        if (typeof action !== 'string' || !(BULK_ACTIONS as readonly string[]).includes(action)) {
          throw new DomainError('validation_failed', `request.action: must be one of ${BULK_ACTIONS.join(', ')}`, 'action');
        }
        const { action: _, ...rest } = r as Record<string, unknown>;
        const input = parseOrThrow(bulkRequests[action as BulkAction], rest, 'request');
        return commands.bulk(actor, action as BulkAction, input);
      }) as ClientToServerEvents['incidents:bulk'],
    );
  });
}

/** The socket's user as an actor; wall sockets (no user) may not act. */
function actorFor(socket: WatchfloorSocket): Actor {
  const data = socket.data as typeof socket.data & { wallId?: string };
  if (data.wallId !== undefined || !data.user) throw new DomainError('forbidden', 'screens are read-only');
  const ua = socket.handshake.headers['user-agent'];
  return { ...actorOf(data.user, 'socket', socket.handshake.address || null, typeof ua === 'string' ? ua : null), clients: data.clients ?? data.user.clients };
}
