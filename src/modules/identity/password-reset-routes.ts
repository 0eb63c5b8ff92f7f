import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { anonymousContext, setSessionCookie } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { NewPassword, responses } from '../../platform/http/schemas.js';
import { SessionStart } from './schemas.js';

export const passwordResetRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, config }) => {
  app.post(
    '/auth/password-reset',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary:
          'Forgot password: mails a single-use reset link (60 minutes) if the address has an account; the answer is the same either way',
        body: Type.Object({ email: Type.String({ maxLength: 254 }) }, { additionalProperties: false }),
        response: responses({ 202: Type.Null() }),
      },
    },
    async (request, reply) => {
      await services.passwordReset.request(anonymousContext(request), request.body);
      return reply.status(202).send(null);
    },
  );

  app.post(
    '/auth/password-reset/complete',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary:
          "Set a new password with the reset link's token: every session of the account ends, and this one starts",
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 100 }), password: NewPassword },
          { additionalProperties: false },
        ),
        response: responses({ 200: SessionStart }),
      },
    },
    async (request, reply) => {
      const result = await services.passwordReset.complete(
        anonymousContext(request),
        request.body,
        request.headers['user-agent'] ?? null,
      );
      setSessionCookie(reply, request, config.publicUrl, result.sessionSecret, result.expiresAt);
      return { user: result.user, csrfToken: result.csrfToken, expiresAt: result.expiresAt.toISOString() };
    },
  );
};
