import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';
import { Job } from '../../platform/jobs/schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const RecoveryPreview = Type.Object(
  {
    instanceId: Uuid,
    node: Type.Object({
      id: Type.String(),
      state: Nullable(Type.String()),
      since: Nullable(Type.String({ format: 'date-time' })),
    }),
    possible: Type.Boolean(),
    reason: Nullable(Type.String()),
    backup: Nullable(
      Type.Object({
        id: Uuid,
        takenAt: Type.String({ format: 'date-time' }),
        sizeBytes: Nullable(Type.Integer()),
      }),
    ),
    dataLossSeconds: Nullable(Type.Integer()),
  },
  { title: 'RecoveryPreview' },
);

/** Moving an instance between cluster nodes, and recovering one of a lost node from its latest backup (#16). */
export const recoveryRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { recovery, moves } = services;

  app.post(
    '/instances/:id/move',
    {
      schema: {
        tags: ['hosts'],
        summary:
          'Move an instance to another cluster node (the one given, or where placement puts it): copied while it serves, then down for the switch; answers 202 with the job (platform admins; production needs "confirm": its name)',
        params: Type.Object({ id: Uuid }),
        body: Type.Optional(
          Type.Object(
            {
              to: Type.Optional(Type.String({ maxLength: 40 })),
              confirm: Type.Optional(Type.String({ maxLength: 60 })),
            },
            { additionalProperties: false },
          ),
        ),
        response: responses({ 202: Type.Object({ job: Job, node: Type.String() }) }),
      },
    },
    async (request, reply) => {
      const { job, hostId } = await moves.move(contextOf(request), request.params.id, request.body ?? {});
      return reply.status(202).send({ job, node: hostId });
    },
  );

  app.get(
    '/instances/:id/recovery',
    {
      schema: {
        tags: ['hosts'],
        summary:
          'Whether an instance of a lost node can be recovered on another node, from which backup, and how much would be lost (platform admins)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ recovery: RecoveryPreview }) }),
      },
    },
    async (request) => ({ recovery: await recovery.preview(contextOf(request), request.params.id) }),
  );

  app.post(
    '/instances/:id/recover',
    {
      schema: {
        tags: ['hosts'],
        summary:
          'Recover an instance of a lost node on another node from its latest (or the given) backup: answers 202 with the job (platform admins; production needs "confirm": its name)',
        params: Type.Object({ id: Uuid }),
        body: Type.Optional(
          Type.Object(
            { confirm: Type.Optional(Type.String({ maxLength: 60 })), backupId: Type.Optional(Uuid) },
            { additionalProperties: false },
          ),
        ),
        response: responses({ 202: Type.Object({ job: Job, node: Type.String() }) }),
      },
    },
    async (request, reply) => {
      const { job, hostId } = await recovery.recover(contextOf(request), request.params.id, request.body ?? {});
      return reply.status(202).send({ job, node: hostId });
    },
  );
};
