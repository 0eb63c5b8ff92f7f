import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { Email, responses, Uuid } from '../../platform/http/schemas.js';
import { patterns } from '../../platform/validation.js';
import { GitSettings } from '../code/schemas.js';
import { OutboundSettings, Security, SmtpSettings } from './schemas.js';
import { smtpLimits } from './service.js';

// The edge catches shapes (types, lengths, characters); the service checks the meaning again.
const SmtpInput = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      maxLength: smtpLimits.host,
      pattern: '^[A-Za-z0-9.:-]+$',
      description: 'A host name or an IP address',
    }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    security: Security,
    from: Type.String({
      minLength: 3,
      maxLength: smtpLimits.from,
      pattern: patterns.label,
      description: 'The sender: an address, or "Name <address>"',
    }),
    username: Type.Optional(
      Type.Union([Type.String({ maxLength: smtpLimits.username, pattern: patterns.label }), Type.Null()]),
    ),
    password: Type.Optional(
      Type.Union(
        [Type.String({ minLength: 1, maxLength: smtpLimits.password, pattern: patterns.label }), Type.Null()],
        {
          description: 'Leave out to keep the stored password; null removes it.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const settingsRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/settings/smtp',
    {
      schema: {
        tags: ['settings'],
        summary: 'The SMTP server Marina sends its notices through (platform admins)',
        response: responses({ 200: Type.Object({ smtp: Type.Union([SmtpSettings, Type.Null()]) }) }),
      },
    },
    async (request) => ({ smtp: await services.settings.getSmtp(contextOf(request).actor) }),
  );

  app.put(
    '/settings/smtp',
    {
      schema: {
        tags: ['settings'],
        summary: 'Set the SMTP server (platform admins); the password is stored encrypted and never shown',
        body: SmtpInput,
        response: responses({ 200: Type.Object({ smtp: SmtpSettings }) }),
      },
    },
    async (request) => ({ smtp: await services.settings.setSmtp(contextOf(request), request.body) }),
  );

  app.delete(
    '/settings/smtp',
    {
      schema: {
        tags: ['settings'],
        summary: 'Remove the SMTP settings; Marina stops sending email (platform admins)',
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await services.settings.clearSmtp(contextOf(request));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/settings/git',
    {
      schema: {
        tags: ['settings'],
        summary: 'Git settings of the platform (platform admins)',
        response: responses({ 200: Type.Object({ git: GitSettings }) }),
      },
    },
    async (request) => ({ git: await services.gitSettings.get(contextOf(request).actor) }),
  );
  app.put(
    '/settings/git',
    {
      schema: {
        tags: ['settings'],
        summary: 'Change the git settings (platform admins)',
        body: Type.Object(
          {
            fileRoot: Type.Union([Type.String({ minLength: 1, maxLength: 500, pattern: '^/' }), Type.Null()]),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ git: GitSettings }) }),
      },
    },
    async (request) => ({ git: await services.gitSettings.set(contextOf(request), request.body) }),
  );
  app.put(
    '/organizations/:id/file-repositories',
    {
      schema: {
        tags: ['settings'],
        summary:
          "Let an organization use file:// repositories under the platform's root folder, or not (platform admins)",
        params: Type.Object({ id: Uuid }),
        body: Type.Object({ allowFileRepositories: Type.Boolean() }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ allowFileRepositories: Type.Boolean() }) }),
      },
    },
    async (request) => ({
      allowFileRepositories: await services.gitSettings.setOrganization(
        contextOf(request),
        request.params.id,
        request.body.allowFileRepositories,
      ),
    }),
  );

  app.get(
    '/settings/outbound',
    {
      schema: {
        tags: ['settings'],
        summary: 'Internal address ranges Marina may connect to for destinations and repositories (platform admins)',
        response: responses({ 200: Type.Object({ outbound: OutboundSettings }) }),
      },
    },
    async (request) => ({ outbound: await services.outbound.get(contextOf(request).actor) }),
  );
  app.put(
    '/settings/outbound',
    {
      schema: {
        tags: ['settings'],
        summary: 'Set the allowed internal address ranges (platform admins)',
        body: Type.Object(
          {
            allowedRanges: Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Fa-f.:/]+$' }), {
              maxItems: 50,
            }),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ outbound: OutboundSettings }) }),
      },
    },
    async (request) => ({ outbound: await services.outbound.set(contextOf(request), request.body) }),
  );

  app.post(
    '/settings/smtp/test',
    {
      schema: {
        tags: ['settings'],
        summary:
          'Send a test email through the stored SMTP settings and answer what the server replied (platform admins; a few per 10 minutes)',
        body: Type.Object({ to: Email }, { additionalProperties: false }),
        response: responses({
          200: Type.Object({
            ok: Type.Literal(true),
            to: Type.String(),
            server: Type.String({ description: 'host:port' }),
            response: Type.String({ description: 'What the SMTP server answered ("250 2.0.0 Ok: queued as …")' }),
          }),
        }),
      },
    },
    async (request) => ({
      ok: true as const,
      ...(await services.settings.testSmtp(contextOf(request), request.body.to)),
    }),
  );
};
