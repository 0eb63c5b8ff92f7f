import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { anonymousContext, contextOf, isSecureRequest, setSessionCookie } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Slug } from '../../platform/http/schemas.js';
import { OidcFlowError } from './failures.js';
import { FLOW_MINUTES } from './flows.js';
import { OidcProvider, OidcProviderCreate, OidcProviderUpdate, PublicOidcProvider } from './schemas.js';

/** Binds a flow to the browser that started it; sent only back to the flow's own routes. */
const FLOW_COOKIE = 'marina_oidc';
const FLOW_COOKIE_PATH = '/api/v1/auth/oidc';
const Id = Type.Object({ id: Type.String({ maxLength: 40 }) });
const Redirect = Type.Null({ description: 'A redirect (Location header)' });

export const oidcRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, config }) => {
  const providers = services.oidcProviders;

  app.get(
    '/oidc-providers',
    {
      schema: {
        tags: ['oidc'],
        summary: 'External sign-in providers (platform admins)',
        response: responses({ 200: Type.Array(OidcProvider) }),
      },
    },
    async (request) => providers.list(contextOf(request).actor),
  );

  app.post(
    '/oidc-providers',
    {
      schema: {
        tags: ['oidc'],
        summary: 'Add an external sign-in provider; its discovery document must answer',
        body: OidcProviderCreate,
        response: responses({ 201: OidcProvider }),
      },
    },
    async (request, reply) => reply.status(201).send(await providers.create(contextOf(request), request.body)),
  );

  app.get(
    '/oidc-providers/:id',
    {
      schema: {
        tags: ['oidc'],
        summary: 'One external sign-in provider',
        params: Id,
        response: responses({ 200: OidcProvider }),
      },
    },
    async (request) => providers.get(contextOf(request).actor, request.params.id),
  );

  app.patch(
    '/oidc-providers/:id',
    {
      schema: {
        tags: ['oidc'],
        summary: 'Change an external sign-in provider (a new issuer or client is checked by discovery)',
        params: Id,
        body: OidcProviderUpdate,
        response: responses({ 200: OidcProvider }),
      },
    },
    async (request) => providers.update(contextOf(request), request.params.id, request.body),
  );

  app.delete(
    '/oidc-providers/:id',
    {
      schema: {
        tags: ['oidc'],
        summary: 'Remove an external sign-in provider (accounts keep their passwords)',
        params: Id,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await providers.remove(contextOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/auth/providers',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'The enabled external sign-in providers, for the login page',
        response: responses({ 200: Type.Array(PublicOidcProvider) }),
      },
    },
    async () => providers.listEnabled(),
  );

  app.get(
    '/auth/oidc/:slug/start',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Start signing in through an external provider: redirects the browser to it',
        params: Type.Object({ slug: Slug }),
        querystring: Type.Object(
          {
            purpose: Type.Optional(Type.Union([Type.Literal('signin'), Type.Literal('signup')])),
            signup: Type.Optional(
              Type.String({ maxLength: 40, description: 'The sign-up draft (POST /signup with `provider`)' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 302: Redirect }),
      },
    },
    async (request, reply) => {
      let started: Awaited<ReturnType<typeof services.oidcFlows.start>>;
      try {
        started = await services.oidcFlows.start(
          request.params.slug,
          request.query.purpose ?? 'signin',
          request.query.signup,
        );
      } catch (error) {
        if (error instanceof OidcFlowError) return reply.redirect(`/login?error=${error.code}`, 302);
        throw error;
      }
      reply.setCookie(FLOW_COOKIE, started.browserSecret, {
        path: FLOW_COOKIE_PATH,
        httpOnly: true,
        sameSite: 'lax',
        secure: isSecureRequest(request, config.publicUrl),
        maxAge: FLOW_MINUTES * 60,
      });
      return reply.header('cache-control', 'no-store').redirect(started.redirectTo.href, 302);
    },
  );

  app.get(
    '/auth/oidc/callback',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: "The provider's redirect back: signs in and redirects to the web UI (or /login?error=<code>)",
        querystring: Type.Object({
          code: Type.Optional(Type.String({ maxLength: 4096 })),
          state: Type.Optional(Type.String({ maxLength: 200 })),
          iss: Type.Optional(Type.String({ maxLength: 500 })),
          error: Type.Optional(Type.String({ maxLength: 200 })),
          error_description: Type.Optional(Type.String({ maxLength: 1000 })),
        }),
        response: responses({ 302: Redirect }),
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      reply.clearCookie(FLOW_COOKIE, { path: FLOW_COOKIE_PATH });
      // The parameters exactly as the provider sent them (openid-client checks them all, `iss` too).
      const query = new URL(request.url, 'http://callback').searchParams;
      try {
        const result = await services.oidcFlows.callback(
          anonymousContext(request),
          request.cookies[FLOW_COOKIE],
          query,
          request.headers['user-agent'] ?? null,
        );
        setSessionCookie(reply, request, config.publicUrl, result.sessionSecret, result.expiresAt);
        // Marina's own paths only: `/`, or a sign-up's welcome page.
        return reply.redirect(result.redirectTo, 302);
      } catch (error) {
        // Always Marina's own login page: never an address the caller or the provider chose.
        if (error instanceof OidcFlowError) return reply.redirect(`/login?error=${error.code}`, 302);
        request.log.error({ err: error }, 'oidc: callback failed');
        return reply.redirect('/login?error=oidc_failed', 302);
      }
    },
  );
};
