import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../http/app-context.ts';
import { parseOrThrow } from '../errors.ts';
import { createTeamRequest, updateTeamRequest } from '../../src/lib/protocol/console.ts';
import { addMember, createTeam, deleteTeam, listAssignableUsers, listTeams, removeMember, updateTeam } from '../teams/teams.ts';
import { auditBy, recordAudit } from '../audit/audit-log.ts';
import { actorFromRequest } from '../incidents/actor.ts';

const idParams = z.object({ id: z.uuid('must be a team id') });
const memberParams = z.object({ id: z.uuid('must be a team id'), userId: z.uuid('must be a user id') });
const memberBody = z.object({ userId: z.uuid('must be a user id') }).strict();

/** Teams: everyone signed in reads them (to assign incidents); admins create, change and delete them. */
export function teamRoutes(app: FastifyInstance, { database, renames }: AppContext): void {
  const admin = { config: { role: 'admin' as const } };

  app.get('/api/v1/teams', async () => ({ teams: await listTeams(database) }));
  /** People incidents can be assigned to. */
  app.get('/api/v1/assignees', async () => ({ users: await listAssignableUsers(database) }));

  app.post('/api/v1/teams', admin, async (request, reply) => {
    const actor = actorFromRequest(request);
    const input = parseOrThrow(createTeamRequest, request.body);
    const team = await createTeam(database, input, (tx, created) =>
      recordAudit(database, tx, { ...auditBy(actor), action: 'team.create', entity: 'team', entityId: created.id, detail: { after: created } }),
    );
    return reply.status(201).send({ team });
  });

  app.patch('/api/v1/teams/:id', admin, async (request) => {
    const actor = actorFromRequest(request);
    const { id } = parseOrThrow(idParams, request.params, 'params');
    const input = parseOrThrow(updateTeamRequest, request.body);
    // The change, its audit row and, for a new name, the incidents the team holds: one transaction.
    const team = await renames.write(async (tx) => {
      const { before, after } = await updateTeam(database, tx, id, input);
      await recordAudit(database, tx, { ...auditBy(actor), action: 'team.update', entity: 'team', entityId: id, detail: { before, after } });
      return { result: after, renamed: before.name !== after.name ? { teamId: id } : null };
    });
    return { team };
  });

  app.delete('/api/v1/teams/:id', admin, async (request, reply) => {
    const actor = actorFromRequest(request);
    const { id } = parseOrThrow(idParams, request.params, 'params');
    await deleteTeam(database, id, (tx, team) =>
      recordAudit(database, tx, { ...auditBy(actor), action: 'team.delete', entity: 'team', entityId: id, detail: { before: team } }),
    );
    return reply.status(204).send();
  });

  app.post('/api/v1/teams/:id/members', admin, async (request) => {
    const actor = actorFromRequest(request);
    const { id } = parseOrThrow(idParams, request.params, 'params');
    const { userId } = parseOrThrow(memberBody, request.body);
    const team = await addMember(database, id, userId, (tx) =>
      recordAudit(database, tx, { ...auditBy(actor), action: 'team.add_member', entity: 'team', entityId: id, detail: { userId } }),
    );
    return { team };
  });

  app.delete('/api/v1/teams/:id/members/:userId', admin, async (request) => {
    const actor = actorFromRequest(request);
    const { id, userId } = parseOrThrow(memberParams, request.params, 'params');
    const team = await removeMember(database, id, userId, (tx) =>
      recordAudit(database, tx, { ...auditBy(actor), action: 'team.remove_member', entity: 'team', entityId: id, detail: { userId } }),
    );
    return { team };
  });
}
