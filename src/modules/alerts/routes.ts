import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';

const Kind = Type.Union(
  ['email', 'webhook', 'slack', 'mattermost', 'discord', 'teams'].map((k) => Type.Literal(k)),
  { description: 'email, a chat incoming webhook, or the generic JSON webhook signed with HMAC-SHA256' },
);
const AlertChannel = Type.Object({
  id: Type.String(),
  organizationId: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  target: Type.String({ description: 'The address; a webhook URL only up to its origin (its path is often a secret)' }),
  enabled: Type.Boolean(),
  createdAt: Type.String(),
});
const ChannelBody = Type.Object(
  {
    kind: Kind,
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })),
    target: Type.String({ minLength: 3, maxLength: 2000, description: 'An email address, or the webhook URL (https)' }),
    secret: Type.Optional(
      Type.String({
        minLength: 16,
        maxLength: 200,
        description: 'The generic webhook’s signing key (generated when absent)',
      }),
    ),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const ChannelPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })),
    target: Type.Optional(Type.String({ minLength: 3, maxLength: 2000 })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const RuleField = Type.Object({
  name: Type.String(),
  label: Type.String(),
  unit: Type.String(),
  min: Type.Integer(),
  max: Type.Integer(),
  default: Type.Integer(),
});
const AlertRule = Type.Object({
  rule: Type.String(),
  title: Type.String(),
  description: Type.String(),
  enabled: Type.Boolean(),
  repeatMinutes: Type.Integer({ description: 'A still-firing alert is sent again after this long' }),
  settings: Type.Record(Type.String(), Type.Integer(), { description: 'The rule’s tunable numbers, by field name' }),
  fields: Type.Array(RuleField, { description: 'What each setting means and its bounds' }),
});
const OrgParams = Type.Object({ id: Uuid });
const ChannelParams = Type.Object({ id: Uuid, channelId: Uuid });
const tags = ['alerts'];

/** Alert channels and rules of an organization (its owners and admins). */
export const alertRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { alertChannels, alertRules, alertTester } = services;

  app.get(
    '/organizations/:id/alert-channels',
    {
      schema: {
        tags,
        summary: "The organization's alert channels (admins)",
        params: OrgParams,
        response: responses({ 200: Type.Object({ channels: Type.Array(AlertChannel) }) }),
      },
    },
    async (request) => ({ channels: await alertChannels.list(contextOf(request).actor, request.params.id) }),
  );
  app.post(
    '/organizations/:id/alert-channels',
    {
      schema: {
        tags,
        summary: 'Add an alert channel; a generic webhook’s signing secret is answered this once (admins)',
        params: OrgParams,
        body: ChannelBody,
        response: responses({
          201: Type.Object({ channel: AlertChannel, secret: Type.Union([Type.String(), Type.Null()]) }),
        }),
      },
    },
    async (request, reply) => {
      const { secret, ...channel } = await alertChannels.create(contextOf(request), request.params.id, request.body);
      return reply.status(201).send({ channel, secret });
    },
  );
  app.patch(
    '/organizations/:id/alert-channels/:channelId',
    {
      schema: {
        tags,
        summary: 'Rename, re-address or switch an alert channel (admins)',
        params: ChannelParams,
        body: ChannelPatch,
        response: responses({ 200: Type.Object({ channel: AlertChannel }) }),
      },
    },
    async (request) => ({
      channel: await alertChannels.update(
        contextOf(request),
        request.params.id,
        request.params.channelId,
        request.body,
      ),
    }),
  );
  app.delete(
    '/organizations/:id/alert-channels/:channelId',
    {
      schema: {
        tags,
        summary: 'Remove an alert channel (admins)',
        params: ChannelParams,
        response: responses({ 200: Type.Object({ removed: Type.Boolean() }) }),
      },
    },
    async (request) => {
      await alertChannels.remove(contextOf(request), request.params.id, request.params.channelId);
      return { removed: true };
    },
  );
  app.post(
    '/organizations/:id/alert-channels/:channelId/test',
    {
      schema: {
        tags,
        summary: 'Send a test message through the channel now and say what happened (admins)',
        params: ChannelParams,
        response: responses({
          200: Type.Object({
            ok: Type.Boolean(),
            status: Type.Union([Type.Integer(), Type.Null()]),
            error: Type.Union([Type.String(), Type.Null()]),
          }),
        }),
      },
    },
    async (request) => alertTester.test(contextOf(request), request.params.id, request.params.channelId),
  );
  app.get(
    '/organizations/:id/alert-rules',
    {
      schema: {
        tags,
        summary: "The organization's alert rules, with their defaults (admins)",
        params: OrgParams,
        response: responses({ 200: Type.Object({ rules: Type.Array(AlertRule) }) }),
      },
    },
    async (request) => ({ rules: await alertRules.list(contextOf(request).actor, request.params.id) }),
  );
  app.put(
    '/organizations/:id/alert-rules/:rule',
    {
      schema: {
        tags,
        summary: 'Switch or tune an alert rule (admins)',
        params: Type.Object({ id: Uuid, rule: Type.String({ pattern: '^[a-z_]{1,40}$' }) }),
        body: Type.Object(
          {
            enabled: Type.Optional(Type.Boolean()),
            repeatMinutes: Type.Optional(Type.Integer({ minimum: 10, maximum: 10080 })),
            settings: Type.Optional(
              Type.Record(Type.String({ pattern: '^[a-z]{1,20}$' }), Type.Integer(), {
                description: 'Values of the rule’s fields (each within its bounds)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ rule: AlertRule }) }),
      },
    },
    async (request) => ({
      rule: await alertRules.set(contextOf(request), request.params.id, request.params.rule, request.body),
    }),
  );
};
