import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';
import { Account } from './schemas.js';

export const userRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const accounts = services.accounts;

  app.get(
    '/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Every account (platform admins)',
        response: responses({ 200: Type.Object({ users: Type.Array(Account) }) }),
      },
    },
    async (request) => ({ users: await accounts.list(contextOf(request).actor) }),
  );

  app.post(
    '/users/:id/disable',
    {
      schema: {
        tags: ['users'],
        summary: 'Disable an account: its sessions end and its API tokens are revoked at once (platform admins)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ user: Account }) }),
      },
    },
    async (request) => ({ user: await accounts.disable(contextOf(request), request.params.id) }),
  );

  app.post(
    '/users/:id/enable',
    {
      schema: {
        tags: ['users'],
        summary: 'Enable a disabled account: it can sign in again (platform admins)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ user: Account }) }),
      },
    },
    async (request) => ({ user: await accounts.enable(contextOf(request), request.params.id) }),
  );
};
