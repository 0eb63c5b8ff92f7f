import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { DateTime, Nullable, responses, Uuid } from '../../platform/http/schemas.js';
import type { SubscriptionRow } from './limits.js';
import { NewPlanBody, OrganizationUsage, Plan, PlanPatchBody, PublicPlan } from './schemas.js';

const tags = ['plans'];

const Subscription = Type.Object(
  {
    organizationId: Type.String(),
    planId: Type.String(),
    status: Type.String(),
    trialEndsAt: Nullable(DateTime),
    updatedAt: DateTime,
  },
  { title: 'Subscription' },
);

const subscriptionView = (s: SubscriptionRow) => ({
  organizationId: s.organization_id,
  planId: s.plan_id,
  status: s.status,
  trialEndsAt: s.trial_ends_at?.toISOString() ?? null,
  updatedAt: s.updated_at.toISOString(),
});

/** Plans (platform admins), the public list for sign-up, an organization's usage and its plan change. */
export const planRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { plans, subscriptions, usage } = services;

  app.get(
    '/plans',
    {
      schema: {
        tags,
        summary: 'The plans (platform admins); archived ones only when asked',
        querystring: Type.Object({ archived: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ plans: Type.Array(Plan) }) }),
      },
    },
    async (request) => ({ plans: await plans.list(contextOf(request), { archived: request.query.archived ?? false }) }),
  );

  app.post(
    '/plans',
    {
      schema: {
        tags,
        summary: 'Make a plan: limits (null = unlimited), trial days, prices in integer minor units (platform admins)',
        body: NewPlanBody,
        response: responses({ 201: Type.Object({ plan: Plan }) }),
      },
    },
    async (request, reply) => reply.status(201).send({ plan: await plans.create(contextOf(request), request.body) }),
  );

  app.get(
    '/plans/:id',
    {
      schema: {
        tags,
        summary: 'One plan (platform admins)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ plan: Plan }) }),
      },
    },
    async (request) => ({ plan: await plans.get(contextOf(request), request.params.id) }),
  );

  app.patch(
    '/plans/:id',
    {
      schema: {
        tags,
        summary: 'Change a plan; `prices`, when given, replaces all its prices (platform admins)',
        params: Type.Object({ id: Uuid }),
        body: PlanPatchBody,
        response: responses({ 200: Type.Object({ plan: Plan }) }),
      },
    },
    async (request) => ({ plan: await plans.update(contextOf(request), request.params.id, request.body) }),
  );

  app.delete(
    '/plans/:id',
    {
      schema: {
        tags,
        summary: 'Archive a plan: no longer offered nor given; organizations on it keep it (platform admins)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ plan: Plan }) }),
      },
    },
    async (request) => ({ plan: await plans.archive(contextOf(request), request.params.id) }),
  );

  app.get(
    '/signup/plans',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'The plans offered at sign-up (public, not archived); no sign-in needed',
        response: responses({ 200: Type.Object({ plans: Type.Array(PublicPlan) }) }),
      },
    },
    async () => ({ plans: await plans.listPublic() }),
  );

  app.get(
    '/organizations/:id/usage',
    {
      schema: {
        tags,
        summary: "The organization's plan, limits, usage and what it may still do, with the reason when not (members)",
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: OrganizationUsage }),
      },
    },
    async (request) => usage.report(contextOf(request).actor, request.params.id),
  );

  app.post(
    '/organizations/:id/subscription/plan',
    {
      schema: {
        tags,
        summary:
          'Move the organization to another plan at once, if it fits (else 409 listing what to remove); platform admins, or an owner between public plans during a trial',
        params: Type.Object({ id: Uuid }),
        body: Type.Object({ planId: Uuid }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ subscription: Subscription }) }),
      },
    },
    async (request) => ({
      subscription: subscriptionView(
        await subscriptions.changePlan(contextOf(request), request.params.id, request.body.planId),
      ),
    }),
  );
};
