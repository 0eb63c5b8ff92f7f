import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { IdOrSlug, Name, responses, Slug, Uuid } from '../../platform/http/schemas.js';
import { invitationRoutes } from './invitation-routes.js';
import { Member, Organization, RoleInput } from './schemas.js';
import { userRoutes } from './user-routes.js';

export const organizationRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, options) => {
  const orgs = options.services.organizations;
  // Joining an organization goes through invitations; accounts are managed by platform admins.
  await app.register(invitationRoutes, options);
  await app.register(userRoutes, options);

  app.get(
    '/organizations',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Organizations you belong to (all of them for platform admins)',
        response: responses({ 200: Type.Object({ organizations: Type.Array(Organization) }) }),
      },
    },
    async (request) => ({ organizations: await orgs.list(contextOf(request).actor) }),
  );

  app.post(
    '/organizations',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Create an organization (platform admins)',
        body: Type.Object({ slug: Slug, name: Name }, { additionalProperties: false }),
        response: responses({ 201: Type.Object({ organization: Organization }) }),
      },
    },
    async (request, reply) =>
      reply.status(201).send({ organization: await orgs.create(contextOf(request), request.body) }),
  );

  app.get(
    '/organizations/:id',
    {
      schema: {
        tags: ['organizations'],
        summary: 'One organization, by id or slug',
        params: Type.Object({ id: IdOrSlug }),
        response: responses({ 200: Type.Object({ organization: Organization }) }),
      },
    },
    async (request) => ({ organization: await orgs.get(contextOf(request).actor, request.params.id) }),
  );

  app.get(
    '/organizations/:id/members',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Members of an organization',
        params: Type.Object({ id: IdOrSlug }),
        response: responses({ 200: Type.Object({ members: Type.Array(Member) }) }),
      },
    },
    async (request) => ({ members: await orgs.members(contextOf(request).actor, request.params.id) }),
  );

  app.patch(
    '/organizations/:id/members/:userId',
    {
      schema: {
        tags: ['organizations'],
        summary: "Change a member's role",
        params: Type.Object({ id: IdOrSlug, userId: Uuid }),
        body: Type.Object({ role: RoleInput }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ member: Member }) }),
      },
    },
    async (request) => ({
      member: await orgs.updateMember(contextOf(request), request.params.id, request.params.userId, request.body),
    }),
  );

  app.delete(
    '/organizations/:id/members/:userId',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Remove a member from the organization',
        params: Type.Object({ id: IdOrSlug, userId: Uuid }),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await orgs.removeMember(contextOf(request), request.params.id, request.params.userId);
      return reply.status(204).send(null);
    },
  );
};
