import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { Email, responses, Uuid } from '../../platform/http/schemas.js';
import { openEventStream } from '../../platform/http/sse.js';
import { Job } from '../../platform/jobs/schemas.js';
import { Host } from '../hosts/schemas.js';
import { odooVersionsOf } from '../settings/odoo-version-routes.js';
import { RestartAllTarget } from './restart-all.js';
import { SafetyBackupPolicy, safetyBackupPolicy } from './safety-backup.js';
import {
  Credentials,
  Instance,
  InstanceCpus,
  InstanceMemoryMb,
  InstanceName,
  InstanceStats,
  ReconcileReport,
  RevealedCredentials,
  Stage,
} from './schemas.js';
import type { InstanceView } from './service.js';

const Accepted = Type.Object({ job: Job });

export const instanceRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, options) => {
  const { services } = options;
  const { instances, hosts, instanceStats, adminPasswords } = services;
  const odooVersions = odooVersionsOf(options);

  app.get(
    '/hosts',
    {
      schema: {
        tags: ['hosts'],
        summary: 'Docker engines Marina places instances on (platform admins)',
        response: responses({ 200: Type.Object({ hosts: Type.Array(Host) }) }),
      },
    },
    async (request) => ({ hosts: await hosts.list(contextOf(request).actor) }),
  );

  app.get(
    '/instances',
    {
      schema: {
        tags: ['instances'],
        summary:
          'Instances you can see, newest first: every one, or a page of them with `limit` (then `cursor` for the next); the first page counts them all. `search` narrows them to a part of a name',
        querystring: Type.Object(
          {
            project: Type.Optional(Uuid),
            organization: Type.Optional(Uuid),
            search: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 100,
                description:
                  'Part of the instance’s name, its organization’s slug or its project’s name, in any case (`%` and `_` are plain characters)',
              }),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
            cursor: Type.Optional(Uuid),
            counts: Type.Optional(
              Type.Boolean({
                description:
                  '`false`: the first page leaves `total` and `running` null instead of counting every match (what a search box needs)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({
            instances: Type.Array(Instance),
            nextCursor: Type.Union([Type.String(), Type.Null()], {
              description: 'The `cursor` of the next page; null on the last page and without `limit`',
            }),
            total: Type.Union([Type.Integer(), Type.Null()], {
              description:
                'How many instances match, over every page: on the first page (no `cursor`) unless `counts=false`; null on the others',
            }),
            running: Type.Union([Type.Integer(), Type.Null()], {
              description: 'How many of them are running (or unhealthy), with `total`; null on pages after the first',
            }),
          }),
        }),
      },
    },
    async (request) => {
      const q = request.query;
      return instances.page(contextOf(request).actor, {
        projectId: q.project,
        organizationId: q.organization,
        search: q.search,
        limit: q.limit,
        cursor: q.cursor,
        counts: q.counts,
      });
    },
  );

  app.post(
    '/instances',
    {
      schema: {
        tags: ['instances'],
        summary: 'Create an instance: answers 202 with the provisioning job and the credentials, shown this once',
        body: Type.Object(
          {
            project: Uuid,
            name: InstanceName,
            stage: Stage,
            cpus: Type.Optional(InstanceCpus),
            memoryMb: Type.Optional(InstanceMemoryMb),
            adminLogin: Email,
            language: Type.Optional(Type.String({ pattern: '^[a-z]{2,3}(_[A-Z]{2})?(@[a-z]+)?$', maxLength: 20 })),
            country: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$' })),
            templateId: Type.Optional(
              Type.Union([Uuid, Type.Null()], {
                description: 'An Odoo template for the project’s version: its modules, demo data, language and country',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 202: Type.Object({ instance: Instance, job: Job, credentials: Credentials }) }),
      },
    },
    async (request, reply) => {
      // An Odoo version whose image is not on the host is refused here, not after a job was queued.
      const project = await services.projects.get(contextOf(request).actor, request.body.project);
      await odooVersions.requireAvailable(project.odoo_version);
      return reply.status(202).send(await instances.create(contextOf(request), request.body));
    },
  );

  app.get(
    '/instances/events',
    {
      schema: {
        tags: ['instances'],
        summary: 'Server-Sent Events: "instance" whenever one you can see changes, "removed" when one is deleted',
      },
    },
    async (request, reply) => {
      const actor = contextOf(request).actor;
      const visible = await instances.visibleIds(actor);
      // The stream itself stays allowed; what it shows shrinks to what the user may still see.
      const stream = openEventStream(request, reply, async (now) => {
        const still = await instances.visibleIds(now);
        for (const id of visible) {
          if (still.has(id)) continue;
          visible.delete(id);
          stream.send('removed', { id });
        }
      });
      const onChange = (view: InstanceView) => {
        if (!visible.has(view.id)) {
          // New instances appear in the stream once access is confirmed.
          instances.get(actor, view.id).then(
            () => {
              visible.add(view.id);
              stream.send('instance', view);
            },
            () => undefined,
          );
          return;
        }
        stream.send('instance', view);
      };
      const onRemoved = (removed: { id: string }) => {
        if (visible.delete(removed.id)) stream.send('removed', removed);
      };
      instances.bus.on('instance', onChange);
      instances.bus.on('instance-removed', onRemoved);
      await stream.closed;
      instances.bus.off('instance', onChange);
      instances.bus.off('instance-removed', onRemoved);
    },
  );

  app.get(
    '/instances/restart-all',
    {
      schema: {
        tags: ['instances'],
        summary: 'The instances "Restart all" would restart now (platform admins), production first',
        response: responses({ 200: Type.Object({ instances: Type.Array(RestartAllTarget) }) }),
      },
    },
    async (request) => ({ instances: await instances.restartAllPreview(contextOf(request)) }),
  );

  app.post(
    '/instances/restart-all',
    {
      schema: {
        tags: ['instances'],
        summary: 'Restart every running instance (platform admins); one job each',
        response: responses({ 202: Type.Object({ jobs: Type.Array(Job) }) }),
      },
    },
    async (request, reply) => reply.status(202).send({ jobs: await instances.restartAll(contextOf(request)) }),
  );

  app.get(
    '/instances/:id',
    {
      schema: {
        tags: ['instances'],
        summary: 'One instance',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ instance: Instance }) }),
      },
    },
    async (request) => ({ instance: instances.view(await instances.get(contextOf(request).actor, request.params.id)) }),
  );

  app.delete(
    '/instances/:id',
    {
      schema: {
        tags: ['instances'],
        summary: 'Delete an instance: container, filestore, database and role. Production needs ?confirm=<name>',
        params: Type.Object({ id: Uuid }),
        querystring: Type.Object(
          { confirm: Type.Optional(Type.String({ maxLength: 60 })) },
          { additionalProperties: false },
        ),
        response: responses({ 202: Type.Object({ job: Job, safetyBackup: SafetyBackupPolicy }) }),
      },
    },
    async (request, reply) =>
      reply.status(202).send({
        job: await instances.remove(contextOf(request), request.params.id, request.query.confirm),
        // The job's first step takes it (the beforeInstanceDelete hook); this says where it goes.
        safetyBackup: safetyBackupPolicy,
      }),
  );

  for (const action of ['start', 'stop', 'restart'] as const) {
    app.post(
      `/instances/:id/${action}`,
      {
        schema: {
          tags: ['instances'],
          summary: `${action[0]?.toUpperCase()}${action.slice(1)} an instance${action === 'stop' ? ' (production needs "confirm": its name)' : ''}`,
          params: Type.Object({ id: Uuid }),
          body: Type.Optional(
            Type.Object({ confirm: Type.Optional(Type.String({ maxLength: 60 })) }, { additionalProperties: false }),
          ),
          response: responses({ 202: Accepted }),
        },
      },
      async (request, reply) =>
        reply.status(202).send({
          job: await instances.lifecycle(contextOf(request), request.params.id, action, request.body?.confirm),
        }),
    );
  }

  app.get(
    '/instances/:id/stats',
    {
      schema: {
        tags: ['instances'],
        summary: 'CPU, memory, network, database and filestore size, uptime',
        params: Type.Object({ id: Uuid }),
        response: responses({
          200: Type.Object({ stats: InstanceStats }),
        }),
      },
    },
    async (request) => ({ stats: await instanceStats.stats(contextOf(request).actor, request.params.id) }),
  );

  app.post(
    '/instances/:id/credentials',
    {
      schema: {
        tags: ['instances'],
        summary:
          "Reveal the instance's administrator and master passwords and where they come from (organization admins; audited); a password Marina does not know (a copy's users) is null",
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ credentials: RevealedCredentials }) }),
      },
    },
    async (request) => ({ credentials: await adminPasswords.reveal(contextOf(request), request.params.id) }),
  );

  app.post(
    '/instances/:id/admin-password',
    {
      schema: {
        tags: ['instances'],
        summary:
          'Give the Odoo administrator (uid 2, else the first Settings member) a new generated password and answer it (organization admins; audited)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ credentials: RevealedCredentials }) }),
      },
    },
    async (request) => ({ credentials: await adminPasswords.reset(contextOf(request), request.params.id) }),
  );
};

export const reconcileRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/reconcile',
    {
      schema: {
        tags: ['hosts'],
        summary:
          'What exists but Marina does not know (orphans), and known instances whose container vanished (platform admins)',
        response: responses({ 200: ReconcileReport }),
      },
    },
    async (request) => services.reconcile.scan(contextOf(request)),
  );
  app.post(
    '/reconcile/adopt',
    {
      schema: {
        tags: ['hosts'],
        summary: 'Adopt an orphan Odoo container as an instance again (platform admins)',
        body: Type.Object(
          {
            name: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,127}$' }),
            hostId: Type.String({ pattern: '^[a-z0-9-]{1,40}$' }),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ instance: Instance }) }),
      },
    },
    async (request) => {
      const adopted = await services.reconcile.adopt(contextOf(request), request.body);
      services.instances.bus.emit('instance', services.instances.view(adopted));
      return { instance: services.instances.view(adopted) };
    },
  );
  app.post(
    '/reconcile/remove',
    {
      schema: {
        tags: ['hosts'],
        summary: 'Remove one orphan (platform admins); checked again before removal',
        body: Type.Object(
          {
            kind: Type.Union([Type.Literal('container'), Type.Literal('volume'), Type.Literal('database')]),
            name: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,127}$' }),
            hostId: Type.String({ pattern: '^[a-z0-9-]{1,40}$' }),
          },
          { additionalProperties: false },
        ),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await services.reconcile.remove(contextOf(request), request.body);
      return reply.status(204).send(null);
    },
  );
};
