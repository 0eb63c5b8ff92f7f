import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';
import { overviewSorts } from './overview.js';
import { CustomersOverview, SubscriptionState, subscriptionState } from './schemas.js';

const tags = ['lifecycle'];
const Answer = responses({ 200: Type.Object({ subscription: SubscriptionState }) });
const params = Type.Object({ id: Uuid });
const NoBody = Type.Object({}, { additionalProperties: false });

/**
 * The platform admin's subscription actions (each audited, and mailed to the owners when the status
 * changes) and the operator's overview of customers. Platform admins only: organization tokens and
 * organization admins are refused in the service.
 */
export const lifecycleRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { lifecycle } = services;

  app.get(
    '/organizations/:id/subscription',
    {
      schema: {
        tags,
        summary: "The organization's subscription and where it is in its lifecycle (platform admins)",
        params,
        response: Answer,
      },
    },
    async (request) => ({
      subscription: subscriptionState(await lifecycle.view(contextOf(request), request.params.id)),
    }),
  );

  app.post(
    '/organizations/:id/subscription',
    {
      schema: {
        tags,
        summary: 'Give the organization a plan: a trial of the plan’s length, or a paid subscription (platform admins)',
        params,
        body: Type.Object({ planId: Uuid, trial: Type.Boolean() }, { additionalProperties: false }),
        response: responses({ 201: Type.Object({ subscription: SubscriptionState }) }),
      },
    },
    async (request, reply) =>
      reply.status(201).send({
        subscription: subscriptionState(await lifecycle.give(contextOf(request), request.params.id, request.body)),
      }),
  );

  app.post(
    '/organizations/:id/subscription/suspend',
    {
      schema: {
        tags,
        summary:
          'Suspend the organization: its instances stop, its sites say it is suspended (never the reason), its owners are mailed (platform admins)',
        params,
        body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
        response: Answer,
      },
    },
    async (request) => ({
      subscription: subscriptionState(
        await lifecycle.suspend(contextOf(request), request.params.id, request.body.reason),
      ),
    }),
  );

  app.post(
    '/organizations/:id/subscription/resume',
    {
      schema: {
        tags,
        summary: 'Resume a suspended organization: the instances that ran start again (platform admins)',
        params,
        body: Type.Optional(NoBody),
        response: Answer,
      },
    },
    async (request) => ({
      subscription: subscriptionState(await lifecycle.resume(contextOf(request), request.params.id)),
    }),
  );

  app.post(
    '/organizations/:id/subscription/extend-trial',
    {
      schema: {
        tags,
        summary: 'Extend the trial by some days; a trial that had ended resumes (platform admins)',
        params,
        body: Type.Object({ days: Type.Integer({ minimum: 1, maximum: 365 }) }, { additionalProperties: false }),
        response: Answer,
      },
    },
    async (request) => ({
      subscription: subscriptionState(
        await lifecycle.extendTrial(contextOf(request), request.params.id, request.body.days),
      ),
    }),
  );

  app.post(
    '/organizations/:id/subscription/convert',
    {
      schema: {
        tags,
        summary: 'Convert the trial to a paid subscription now (platform admins; billing does it in #20)',
        params,
        body: Type.Optional(NoBody),
        response: Answer,
      },
    },
    async (request) => ({
      subscription: subscriptionState(await lifecycle.convertToPaid(contextOf(request), request.params.id)),
    }),
  );

  app.get(
    '/admin/customers',
    {
      schema: {
        tags,
        summary:
          'Every organization with its plan, status, instances, storage, last backup and price, with totals and MRR (platform admins)',
        querystring: Type.Object(
          {
            q: Type.Optional(Type.String({ maxLength: 200 })),
            status: Type.Optional(
              Type.Union(
                ['trialing', 'active', 'past_due', 'suspended', 'cancelled', 'none'].map((s) => Type.Literal(s)),
              ),
            ),
            sort: Type.Optional(Type.Union(overviewSorts.map((s) => Type.Literal(s)))),
            dir: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
            cursor: Type.Optional(Type.String({ maxLength: 64 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: CustomersOverview }),
      },
    },
    async (request) => lifecycle.overview(contextOf(request).actor, request.query),
  );
};
