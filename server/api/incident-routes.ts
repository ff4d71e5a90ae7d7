import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../http/app-context.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { parseFilter } from '../../src/lib/domain/incident-filter.ts';
import { BULK_ACTIONS, bulkRequests, handoverQuery, type BulkAction } from '../../src/lib/protocol/console.ts';
import { INCIDENT_COMMANDS } from '../incidents/command-table.ts';
import { actorFromRequest } from '../incidents/actor.ts';
import { handover, incidentDetail, leadOverview, listIncidents, type Reader } from '../incidents/incident-queries.ts';
import type { IncidentCommands } from '../incidents/incident-commands.ts';

const idParams = z.object({ id: z.uuid('must be an incident id') });
const listLimit = z.object({ limit: z.coerce.number().int().min(1).max(20_000).default(5000) });
const bulkParams = z.object({ action: z.enum(BULK_ACTIONS, `must be one of ${BULK_ACTIONS.join(', ')}`) });

function readerOf(request: FastifyRequest): Reader {
  if (!request.session) throw new DomainError('unauthenticated', 'sign in first');
  return { userId: request.session.user.id, clients: request.session.user.clients };
}

/** The body of a command: an empty POST counts as `{}`. */
const bodyOf = (request: FastifyRequest): unknown => request.body ?? {};

/**
 * Incidents over REST: the queue (the same filters as the console's URL), an incident's detail, the
 * commands (one domain function each, shared with Socket.IO), bulk actions, and the shift lead's views.
 * Everything is limited to the user's clients; incidents outside them are 404.
 */
export function incidentRoutes(app: FastifyInstance, { database, openIncidents }: AppContext, commands: IncidentCommands): void {
  app.get('/api/v1/incidents', async (request) => {
    const raw = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    const params = new URLSearchParams(raw);
    const { limit } = parseOrThrow(listLimit, { limit: params.get('limit') ?? undefined }, 'query');
    return listIncidents(database, openIncidents, readerOf(request), parseFilter(params), limit, Date.now());
  });

  app.get('/api/v1/incidents/:id', async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'params');
    return incidentDetail(database, readerOf(request), id);
  });

  // Commands: engineer or higher (the domain functions check it too, for every other way in).
  const engineer = { config: { role: 'engineer' as const } };
  for (const command of INCIDENT_COMMANDS) {
    app.post(`/api/v1/incidents/:id/${command.path}`, engineer, async (request) => {
      const { id } = parseOrThrow(idParams, request.params, 'params');
      return { incident: await command.execute(commands, actorFromRequest(request), id, bodyOf(request), 'body') };
    });
  }

  app.post('/api/v1/incidents/bulk/:action', engineer, async (request) => {
    const { action } = parseOrThrow(bulkParams, request.params, 'params');
    const input = parseOrThrow(bulkRequests[action as BulkAction], bodyOf(request));
    return commands.bulk(actorFromRequest(request), action as BulkAction, input);
  });

  const lead = { config: { role: 'lead' as const } };
  app.get('/api/v1/lead/overview', lead, async (request) => leadOverview(database, openIncidents, readerOf(request), Date.now()));
  app.get('/api/v1/lead/handover', lead, async (request) => {
    const { since } = parseOrThrow(handoverQuery, request.query, 'query');
    return handover(database, openIncidents, readerOf(request), new Date(since), Date.now());
  });
}
