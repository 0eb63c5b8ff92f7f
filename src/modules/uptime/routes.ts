import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';

const Incident = Type.Object({
  id: Type.String(),
  instanceId: Type.Union([Type.String(), Type.Null()], { description: 'Null when it is not about one instance' }),
  instanceName: Type.Optional(
    Type.Union([Type.String(), Type.Null()], { description: "The instance's name (in an organization's list)" }),
  ),
  kind: Type.String({ description: 'The rule: instance_down, memory_high, storage_quota, backup_stale, …' }),
  title: Type.String({ description: 'What fired, in a few words' }),
  subject: Type.String({ description: 'What it is about, within its kind (instance, domain, organization…)' }),
  openedAt: Type.String(),
  resolvedAt: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown(), {
    description: 'What the failing check answered: failed (proxy, direct or both), each path’s status, error and time',
  }),
});
const Day = Type.Object({
  day: Type.String({ description: 'YYYY-MM-DD (UTC)' }),
  checks: Type.Integer(),
  failures: Type.Integer(),
  downSeconds: Type.Integer(),
  availability: Type.Number({ description: 'Percent of checks that passed' }),
});

/** Uptime: the SLA view of an instance and an organization's incidents (members). */
export const uptimeRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { uptimeReader } = services;

  app.get(
    '/instances/:id/uptime',
    {
      schema: {
        tags: ['instances'],
        summary:
          "Availability per day of a month, the month's and the current month's, and the incidents of that month",
        params: Type.Object({ id: Uuid }),
        querystring: Type.Object(
          {
            range: Type.Optional(
              Type.String({
                pattern: '^\\d{4}-(0[1-9]|1[0-2])$',
                description: 'A month, YYYY-MM (default: this month, UTC)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({
            instanceId: Type.String(),
            month: Type.String(),
            days: Type.Array(Day),
            availability: Type.Number(),
            currentMonthAvailability: Type.Number(),
            incidents: Type.Array(Incident),
          }),
        }),
      },
    },
    async (request) => uptimeReader.instance(contextOf(request).actor, request.params.id, request.query.range),
  );

  app.get(
    '/organizations/:id/incidents',
    {
      schema: {
        tags: ['instances'],
        summary: "The organization's incidents, newest first (members)",
        params: Type.Object({ id: Uuid }),
        querystring: Type.Object({ open: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ incidents: Type.Array(Incident) }) }),
      },
    },
    async (request) => ({
      incidents: await uptimeReader.organization(contextOf(request).actor, request.params.id, request.query.open),
    }),
  );
};
