import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { Nullable, responses, Uuid } from '../../platform/http/schemas.js';
import { Job } from '../../platform/jobs/schemas.js';
import { Module, ModulePlan } from './schemas.js';

const ModuleName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9_]+$' });
const Names = Type.Optional(Type.Array(ModuleName, { maxItems: 200 }));

export const moduleRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/instances/:id/modules',
    {
      schema: {
        tags: ['modules'],
        summary: "The instance's modules, read from its database, with the versions in its repositories",
        params: Type.Object({ id: Uuid }),
        querystring: Type.Object({
          search: Type.Optional(Type.String({ maxLength: 100 })),
          state: Type.Optional(Type.String({ maxLength: 30 })),
        }),
        response: responses({ 200: Type.Object({ modules: Type.Array(Module) }) }),
      },
    },
    async (request) => ({
      modules: await services.modules.list(contextOf(request).actor, request.params.id, request.query),
    }),
  );

  app.post(
    '/instances/:id/modules',
    {
      schema: {
        tags: ['modules'],
        summary: 'Install, upgrade and uninstall modules in one job (with a safety backup); dryRun shows the plan',
        params: Type.Object({ id: Uuid }),
        body: Type.Object(
          {
            install: Names,
            upgrade: Names,
            uninstall: Names,
            updateList: Type.Optional(Type.Boolean({ description: 'Update the apps list first' })),
            dryRun: Type.Optional(Type.Boolean()),
            confirm: Type.Optional(
              Type.String({ maxLength: 100, description: 'The instance name, to uninstall on production' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({ plan: ModulePlan, job: Nullable(Job) }),
          202: Type.Object({ plan: ModulePlan, job: Job }),
        }),
      },
    },
    async (request, reply) => {
      const result = await services.modules.apply(contextOf(request), request.params.id, request.body);
      return reply.status(result.job ? 202 : 200).send(result);
    },
  );
};
