/**
 * Every single-incident command once: its REST path, its Socket.IO event, its request schema and
 * its domain function. REST (`api/incident-routes.ts`) and sockets (`incident-socket-commands.ts`)
 * both serve this table, so the two ways in cannot drift apart.
 */
import type { z } from 'zod';
import {
  acknowledgeRequest,
  assignRequest,
  mergeRequest,
  noteRequest,
  reassignRequest,
  resolveRequest,
  severityRequest,
  snoozeRequest,
  takeOverRequest,
  unacknowledgeRequest,
} from '../../src/lib/protocol/console.ts';
import type { ClientToServerEvents } from '../../src/lib/protocol/events.ts';
import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';
import { parseOrThrow } from '../errors.ts';
import type { Actor } from './actor.ts';
import type { IncidentCommands } from './incident-commands.ts';

export type CommandEvent = Extract<keyof ClientToServerEvents, `incident:${string}`>;

export interface IncidentCommandEntry {
  /** `POST /api/v1/incidents/:id/<path>` */
  path: string;
  event: CommandEvent;
  /** Validates `input` (reported under `where`: 'body' or 'request') and runs the domain function. */
  execute(commands: IncidentCommands, actor: Actor, id: string, input: unknown, where: string): Promise<IncidentDto>;
}

function entry<S extends z.ZodType>(
  path: string,
  event: CommandEvent,
  schema: S,
  run: (commands: IncidentCommands, actor: Actor, id: string, input: z.infer<S>) => Promise<IncidentDto>,
): IncidentCommandEntry {
  return { path, event, execute: (commands, actor, id, input, where) => run(commands, actor, id, parseOrThrow(schema, input, where)) };
}

export const INCIDENT_COMMANDS: readonly IncidentCommandEntry[] = [
  entry('acknowledge', 'incident:acknowledge', acknowledgeRequest, (c, a, id, input) => c.acknowledge(a, id, input)),
  entry('unacknowledge', 'incident:unacknowledge', unacknowledgeRequest, (c, a, id, input) => c.unacknowledge(a, id, input)),
  entry('assign', 'incident:assign', assignRequest, (c, a, id, input) => c.assign(a, id, input)),
  entry('reassign', 'incident:reassign', reassignRequest, (c, a, id, input) => c.reassign(a, id, input)),
  entry('take-over', 'incident:take-over', takeOverRequest, (c, a, id, input) => c.takeOver(a, id, input)),
  entry('snooze', 'incident:snooze', snoozeRequest, (c, a, id, input) => c.snooze(a, id, input)),
  entry('resolve', 'incident:resolve', resolveRequest, (c, a, id, input) => c.resolve(a, id, input)),
  entry('notes', 'incident:note', noteRequest, (c, a, id, input) => c.addNote(a, id, input)),
  entry('severity', 'incident:set-severity', severityRequest, (c, a, id, input) => c.setSeverity(a, id, input)),
  entry('merge', 'incident:merge', mergeRequest, (c, a, id, input) => c.merge(a, id, input)),
];
