import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../http/app-context.ts';
import { createUserRequest, updateUserRequest } from '../../src/lib/protocol/api.ts';
import { parseOrThrow } from '../errors.ts';
import { addUser, listUsers, resetPassword, updateUser } from '../auth/users.ts';

const idParams = z.object({ id: z.uuid('must be a user id') });

/** User management: admins only. */
export function userRoutes(app: FastifyInstance, { database, realtime }: AppContext): void {
  const { db } = database;
  const admin = { config: { role: 'admin' as const } };

  app.get('/api/v1/users', admin, async () => ({ users: await listUsers(db) }));

  app.post('/api/v1/users', admin, async (request, reply) => {
    const created = await addUser(db, parseOrThrow(createUserRequest, request.body));
    return reply.status(201).send(created);
  });

  app.patch('/api/v1/users/:id', admin, async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'params');
    const patch = parseOrThrow(updateUserRequest, request.body);
    const { user, signedOut } = await updateUser(db, id, patch);
    if (signedOut) realtime.endUser(user.id, 'revoked');
    return { user };
  });

  app.post('/api/v1/users/:id/reset-password', admin, async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'params');
    const result = await resetPassword(db, { id });
    realtime.endUser(id, 'revoked');
    return result;
  });
}
