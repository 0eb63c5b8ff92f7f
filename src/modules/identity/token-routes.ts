import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';
import { limits, patterns } from '../../platform/validation.js';
import { ApiToken } from './schemas.js';

export const tokenRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Your API tokens',
        response: responses({ 200: Type.Object({ tokens: Type.Array(ApiToken) }) }),
      },
    },
    async (request) => ({ tokens: await services.tokens.list(contextOf(request)) }),
  );

  app.post(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token; its secret is shown in this answer only',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: limits.tokenName, pattern: patterns.label }),
            expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
            expiresAt: Type.Optional(
              Type.String({
                format: 'date-time',
                description: 'When the token stops working (instead of expiresInDays)',
              }),
            ),
            scope: Type.Optional(
              Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('metrics')], {
                description:
                  '`read` makes a read-only token (GET and HEAD only); `metrics` one that may only scrape ' +
                  'GET /metrics (without an organization: platform admins only); the default is `write`',
              }),
            ),
            organizationId: Type.Optional(
              Type.String({
                pattern: patterns.uuid,
                description: 'Limit the token to this organization (one you are a member of)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: Type.Object({ token: ApiToken, secret: Type.String() }) }),
      },
    },
    async (request, reply) => reply.status(201).send(await services.tokens.create(contextOf(request), request.body)),
  );

  app.delete(
    '/tokens/:id',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke an API token at once',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ token: ApiToken }) }),
      },
    },
    async (request) => ({ token: await services.tokens.revoke(contextOf(request), request.params.id) }),
  );
};
