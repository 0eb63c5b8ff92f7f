import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePlatformAdmin } from '../../platform/access.js';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { DateTime, Nullable, responses } from '../../platform/http/schemas.js';
import { templateLimits } from './templates.js';

const Variable = Type.Object({ name: Type.String(), description: Type.String(), sample: Type.Unknown() });
const Summary = Type.Object({
  key: Type.String(),
  description: Type.String(),
  variables: Type.Array(Variable),
  overriddenLocales: Type.Array(Type.String()),
});
const Template = Type.Object({
  key: Type.String(),
  locale: Type.String(),
  subject: Type.String(),
  html: Type.String(),
  text: Type.String(),
  overridden: Type.Boolean({ description: 'false: the shipped default, or English because the language has none' }),
  updatedAt: Nullable(DateTime),
});
// The text part's emptiness is the service's check, so the answer says why ("every mail needs a text part").
const TemplateInput = Type.Object(
  {
    subject: Type.String({ maxLength: templateLimits.subject }),
    html: Type.String({ maxLength: templateLimits.html }),
    text: Type.String({ maxLength: templateLimits.text }),
  },
  { additionalProperties: false },
);
const Rendered = Type.Object({ subject: Type.String(), html: Type.String(), text: Type.String() });
const KeyLocale = Type.Object({
  key: Type.String({ minLength: 1, maxLength: 60, pattern: '^[a-z_]+$' }),
  locale: Type.String({ minLength: 2, maxLength: 12 }),
});
const OutboxEntry = Type.Object({
  id: Type.String(),
  key: Type.String(),
  to: Type.String(),
  locale: Type.String(),
  status: Type.Union([
    Type.Literal('queued'),
    Type.Literal('sending'),
    Type.Literal('sent'),
    Type.Literal('failed'),
    Type.Literal('unknown'),
  ]),
  attempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  organizationId: Nullable(Type.String()),
  createdAt: DateTime,
  nextAttemptAt: DateTime,
  sentAt: Nullable(DateTime),
});

/** The mails Marina sends people: their templates and the outbox (platform admins). */
export const noticeRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/mail-templates',
    {
      schema: {
        tags: ['mail-templates'],
        summary: 'The mails Marina sends people: keys, variables, edited languages (platform admins)',
        response: responses({ 200: Type.Object({ templates: Type.Array(Summary) }) }),
      },
    },
    async (request) => ({ templates: await services.mailTemplates.list(contextOf(request).actor) }),
  );

  app.get(
    '/mail-templates/:key/:locale',
    {
      schema: {
        tags: ['mail-templates'],
        summary: 'One mail in one language: the edited version, else the one it falls back to (platform admins)',
        params: KeyLocale,
        response: responses({ 200: Type.Object({ template: Template }) }),
      },
    },
    async (request) => ({
      template: await services.mailTemplates.get(contextOf(request).actor, request.params.key, request.params.locale),
    }),
  );

  app.put(
    '/mail-templates/:key/:locale',
    {
      schema: {
        tags: ['mail-templates'],
        summary: 'Edit a mail; it must render with the sample values and have a text part (platform admins)',
        params: KeyLocale,
        body: TemplateInput,
        response: responses({ 200: Type.Object({ template: Template }) }),
      },
    },
    async (request) => ({
      template: await services.mailTemplates.put(
        contextOf(request),
        request.params.key,
        request.params.locale,
        request.body,
      ),
    }),
  );

  app.delete(
    '/mail-templates/:key/:locale',
    {
      schema: {
        tags: ['mail-templates'],
        summary: 'Remove the edited version: the default applies again (platform admins)',
        params: KeyLocale,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await services.mailTemplates.reset(contextOf(request), request.params.key, request.params.locale);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/mail-templates/:key/preview',
    {
      schema: {
        tags: ['mail-templates'],
        summary:
          'Render an unsaved mail with the sample values; 400 with line and column if it does not (platform admins)',
        params: Type.Object({ key: KeyLocale.properties.key }),
        body: TemplateInput,
        response: responses({ 200: Type.Object({ rendered: Rendered }) }),
      },
    },
    async (request) => ({
      rendered: await services.mailTemplates.preview(contextOf(request).actor, request.params.key, request.body),
    }),
  );

  app.get(
    '/mail-outbox',
    {
      schema: {
        tags: ['mail-templates'],
        summary: 'The latest mails and whether they left: queued, sent, failed or unknown (platform admins)',
        response: responses({ 200: Type.Object({ mails: Type.Array(OutboxEntry) }) }),
      },
    },
    async (request) => {
      requirePlatformAdmin(contextOf(request).actor);
      return { mails: await services.notices.recent() };
    },
  );
};
