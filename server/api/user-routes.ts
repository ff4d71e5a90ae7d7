import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../http/app-context.ts';
import { createUserRequest, updateUserRequest } from '../../src/lib/protocol/api.ts';
import { parseOrThrow } from '../errors.ts';
import { addUser, listUsers, resetPassword, updateUser } from '../auth/users.ts';
import { auditBy, recordAudit } from '../audit/audit-log.ts';
import { actorFromRequest } from '../incidents/actor.ts';

const idParams = z.object({ id: z.uuid('must be a user id') });

/** User management: admins only. */
export function userRoutes(app: FastifyInstance, { database, revocations, renames }: AppContext): void {
  const { db } = database;
  const admin = { config: { role: 'admin' as const } };

  app.get('/api/v1/users', admin, async () => ({ users: await listUsers(db) }));

  app.post('/api/v1/users', admin, async (request, reply) => {
    // Each change and its audit row are one transaction: no change without its record.
    const created = await addUser(db, parseOrThrow(createUserRequest, request.body), (tx, user) =>
      recordAudit(database, tx, { ...auditBy(actorFromRequest(request)), action: 'user.create', entity: 'user', entityId: user.id, detail: { after: { email: user.email, name: user.name, role: user.role } } }),
    );
    return reply.status(201).send(created);
  });

  app.patch('/api/v1/users/:id', admin, async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'params');
    const patch = parseOrThrow(updateUserRequest, request.body);
    // The change, its audit row and, for a new name, the incidents the person holds: one transaction.
    const { user, signedOut } = await renames.write(async (tx) => {
      const updated = await updateUser(tx, id, patch);
      await recordAudit(database, tx, { ...auditBy(actorFromRequest(request)), action: 'user.update', entity: 'user', entityId: id, detail: { changed: patch, signedOut: updated.signedOut } });
      return { result: updated, renamed: updated.renamed ? { assigneeId: id } : null };
    });
    if (signedOut) await revocations.end({ userId: user.id, reason: 'revoked' });
    return { user };
  });

  app.post('/api/v1/users/:id/reset-password', admin, async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'params');
    const result = await resetPassword(db, { id }, undefined, (tx) =>
      recordAudit(database, tx, { ...auditBy(actorFromRequest(request)), action: 'user.reset_password', entity: 'user', entityId: id, detail: {} }),
    );
    await revocations.end({ userId: id, reason: 'revoked' });
    return result;
  });
}
