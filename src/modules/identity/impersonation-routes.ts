import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf, setSessionCookie } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { IdOrSlug, responses } from '../../platform/http/schemas.js';
import { SessionStart } from './schemas.js';

export const impersonationRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, config }) => {
  app.post(
    '/organizations/:id/impersonate',
    {
      schema: {
        tags: ['organizations'],
        summary:
          'Open the organization as its members see it, read-only, for 60 minutes (platform admins, browser session; audited in its trail with the reason); the session cookie becomes that view',
        params: Type.Object({ id: IdOrSlug }),
        body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: responses({
          201: Type.Object({
            ...SessionStart.properties,
            organization: Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String() }),
          }),
        }),
      },
    },
    async (request, reply) => {
      const result = await services.impersonation.start(
        contextOf(request),
        request.params.id,
        request.body,
        request.headers['user-agent'] ?? null,
      );
      setSessionCookie(reply, request, config.publicUrl, result.sessionSecret, result.expiresAt);
      return reply.status(201).send({
        user: result.user,
        csrfToken: result.csrfToken,
        expiresAt: result.expiresAt.toISOString(),
        organization: result.organization,
      });
    },
  );

  app.post(
    '/auth/impersonation/end',
    {
      config: { readOnlySessionMay: true },
      schema: {
        tags: ['auth'],
        summary: "End the view as an organization: the platform admin's own session starts again",
        response: responses({ 200: SessionStart }),
      },
    },
    async (request, reply) => {
      const result = await services.impersonation.end(contextOf(request), request.headers['user-agent'] ?? null);
      setSessionCookie(reply, request, config.publicUrl, result.sessionSecret, result.expiresAt);
      return { user: result.user, csrfToken: result.csrfToken, expiresAt: result.expiresAt.toISOString() };
    },
  );
};
