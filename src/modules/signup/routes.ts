import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { anonymousContext, contextOf, setSessionCookie } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses } from '../../platform/http/schemas.js';
import {
  SignupAnswer,
  SignupInfo,
  SignupRequest,
  SignupSettings,
  SignupVerified,
  SignupVerify,
  SubdomainCheck,
} from './schemas.js';

const tags = ['signup'];

/** Public sign-up (closed → 404 `MARINA_E_SIGNUP_CLOSED`) and its settings (platform admins). */
export const signupRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, config }) => {
  const { signups, signupSettings } = services;

  app.get(
    '/signup',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'What the sign-up page offers: plans with a trial, templates, providers, the base domain',
        response: responses({ 200: SignupInfo }),
      },
    },
    async () => signups.info(),
  );

  app.get(
    '/signup/subdomain',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Whether a subdomain can be had (a live check; the sign-up checks again)',
        querystring: Type.Object({ name: Type.String({ maxLength: 100 }) }, { additionalProperties: false }),
        response: responses({ 200: SubdomainCheck }),
      },
    },
    async (request) => signups.subdomain(anonymousContext(request), request.query.name),
  );

  app.post(
    '/signup',
    {
      config: { public: true },
      schema: {
        tags,
        summary:
          'Sign up: mails a verification link (24 h; the same answer whether the address has an account or not), or with `provider` answers where the browser goes to sign up through it',
        body: SignupRequest,
        response: responses({ 200: SignupAnswer, 202: SignupAnswer }),
      },
    },
    async (request, reply) => {
      const answer = await signups.request(anonymousContext(request), request.body);
      return reply.status(answer.status === 'sent' ? 202 : 200).send(answer);
    },
  );

  app.post(
    '/signup/verify',
    {
      config: { public: true },
      schema: {
        tags,
        summary:
          'Verify the emailed link with the password the person chooses now: makes the account (with that password), organization, trial and project, signs in, and queues the first instance. A weak password changes nothing (the link still works)',
        body: SignupVerify,
        response: responses({ 200: SignupVerified }),
      },
    },
    async (request, reply) => {
      const done = await signups.verify(
        anonymousContext(request),
        request.body.token,
        request.body.password,
        request.headers['user-agent'] ?? null,
      );
      const { session } = done;
      setSessionCookie(reply, request, config.publicUrl, session.sessionSecret, session.expiresAt);
      return {
        user: session.user,
        csrfToken: session.csrfToken,
        expiresAt: session.expiresAt.toISOString(),
        organization: done.organization,
        instanceId: done.instanceId,
        jobId: done.jobId,
        credentialsToken: done.credentialsToken,
      };
    },
  );

  app.get(
    '/settings/signup',
    {
      schema: {
        tags: ['settings'],
        summary: 'Sign-up: open or not, refused email domains, reserved subdomains, abuse limits (platform admins)',
        response: responses({ 200: SignupSettings }),
      },
    },
    async (request) => signupSettings.get(contextOf(request).actor),
  );

  app.put(
    '/settings/signup',
    {
      schema: {
        tags: ['settings'],
        summary: 'Change the sign-up settings; opening needs a base domain and SMTP (409 saying which is missing)',
        body: SignupSettings,
        response: responses({ 200: SignupSettings }),
      },
    },
    async (request) => signupSettings.set(contextOf(request), request.body),
  );
};
