import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { IdOrSlug, Name, responses, Slug, Uuid } from '../../platform/http/schemas.js';
import { projectOverview } from './overview.js';
import { Project, ProjectStages } from './schemas.js';

export const projectRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { projects, instances, backups } = services;

  app.get(
    '/projects',
    {
      schema: {
        tags: ['projects'],
        summary: 'Projects you can see, optionally of one organization',
        querystring: Type.Object({ organization: Type.Optional(IdOrSlug) }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ projects: Type.Array(Project) }) }),
      },
    },
    async (request) => ({ projects: await projects.list(contextOf(request).actor, request.query.organization) }),
  );

  app.post(
    '/projects',
    {
      schema: {
        tags: ['projects'],
        summary: 'Create a project (organization owners and admins)',
        body: Type.Object(
          {
            organization: IdOrSlug,
            name: Slug,
            displayName: Type.Optional(Name),
            odooVersion: Type.String({ pattern: '^(16|17|18|19)(\\.0)?$' }),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: Type.Object({ project: Project }) }),
      },
    },
    async (request, reply) =>
      reply.status(201).send({ project: await projects.create(contextOf(request), request.body) }),
  );

  app.get(
    '/projects/:id',
    {
      schema: {
        tags: ['projects'],
        summary:
          'One project, with its instances by stage (production, staging, development), each with its last finished backup',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ project: Project, stages: ProjectStages }) }),
      },
    },
    async (request) =>
      projectOverview({ projects, instances, backups: backups.queries }, contextOf(request).actor, request.params.id),
  );
};
