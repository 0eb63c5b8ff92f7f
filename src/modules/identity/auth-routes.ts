import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireUser } from '../../platform/access.js';
import { anonymousContext, clearSessionCookie, contextOf, setSessionCookie } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { Email, Name, NewPassword, Password, responses } from '../../platform/http/schemas.js';
import { MyOrganization, SessionStart, User } from './schemas.js';
import { userView } from './users.js';

export const authRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, config }) => {
  app.post(
    '/auth/login',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password; sets the session cookie',
        body: Type.Object(
          { email: Type.String({ maxLength: 254 }), password: Password },
          { additionalProperties: false },
        ),
        response: responses({ 200: SessionStart }),
      },
    },
    async (request, reply) => {
      const result = await services.auth.login(
        anonymousContext(request),
        request.body,
        request.headers['user-agent'] ?? null,
      );
      setSessionCookie(reply, request, config.publicUrl, result.sessionSecret, result.expiresAt);
      return { user: result.user, csrfToken: result.csrfToken, expiresAt: result.expiresAt.toISOString() };
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { readOnlySessionMay: true },
      schema: { tags: ['auth'], summary: 'End the current session', response: responses({ 204: Type.Null() }) },
    },
    async (request, reply) => {
      const ctx = contextOf(request);
      await services.auth.logout({ actor: requireUser(ctx.actor), ip: ctx.ip });
      clearSessionCookie(reply, request, config.publicUrl);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/setup',
    {
      config: { public: true },
      schema: {
        tags: ['setup'],
        summary: 'Whether Marina still needs its first administrator',
        response: responses({ 200: Type.Object({ needed: Type.Boolean() }) }),
      },
    },
    async () => ({ needed: await services.setup.isNeeded() }),
  );

  app.post(
    '/setup',
    {
      config: { public: true },
      schema: {
        tags: ['setup'],
        summary: 'Create the first administrator with the one-time setup link, and sign in',
        body: Type.Object(
          { token: Type.String({ maxLength: 100 }), email: Email, name: Type.Optional(Name), password: NewPassword },
          { additionalProperties: false },
        ),
        response: responses({ 201: SessionStart }),
      },
    },
    async (request, reply) => {
      const admin = await services.setup.complete(anonymousContext(request), request.body);
      const result = await services.auth.login(
        anonymousContext(request),
        { email: admin.email, password: request.body.password },
        request.headers['user-agent'] ?? null,
      );
      setSessionCookie(reply, request, config.publicUrl, result.sessionSecret, result.expiresAt);
      return reply
        .status(201)
        .send({ user: result.user, csrfToken: result.csrfToken, expiresAt: result.expiresAt.toISOString() });
    },
  );

  app.get(
    '/me',
    {
      schema: {
        tags: ['account'],
        summary: 'The signed-in user, their organizations and, for browser sessions, the CSRF token',
        response: responses({
          200: Type.Object({
            user: User,
            organizations: Type.Array(MyOrganization),
            authMethod: Type.Union([Type.Literal('session'), Type.Literal('token')]),
            impersonating: Type.Union([
              Type.String({ description: 'The organization this read-only support session is opened as' }),
              Type.Null(),
            ]),
            csrfToken: Type.Union([Type.String(), Type.Null()]),
          }),
        }),
      },
    },
    async (request) => {
      const actor = requireUser(contextOf(request).actor);
      const user = await services.users.get(actor.userId);
      if (!user) throw new Error('authenticated user vanished');
      const organizations = await services.organizations.mine(actor);
      return {
        user: userView(user),
        organizations,
        authMethod: actor.via,
        impersonating: actor.impersonatedBy ? (actor.organizationId ?? null) : null,
        csrfToken: request.auth?.session?.csrfToken ?? null,
      };
    },
  );

  app.patch(
    '/me',
    {
      schema: {
        tags: ['account'],
        summary: 'Change your own name or language (the language of the mails Marina sends you)',
        body: Type.Object(
          {
            name: Type.Optional(Name),
            locale: Type.Optional(
              Type.String({ minLength: 2, maxLength: 12, description: 'A language code such as en, fr or pt-BR' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ user: User }) }),
      },
    },
    async (request) => ({ user: await services.users.updateProfile(contextOf(request), request.body) }),
  );

  app.post(
    '/me/password',
    {
      schema: {
        tags: ['account'],
        summary: 'Change your password; your other sessions end, and your API tokens too if you ask',
        body: Type.Object(
          {
            currentPassword: Password,
            newPassword: NewPassword,
            revokeTokens: Type.Optional(
              Type.Boolean({ description: 'Also delete all your API tokens (default false: they keep working)' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await services.users.changePassword(contextOf(request), request.body);
      return reply.status(204).send(null);
    },
  );
};
