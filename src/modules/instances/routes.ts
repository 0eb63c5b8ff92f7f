import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { Email, IdOrSlug, Name, responses, Slug, Uuid } from '../../platform/http/schemas.js';
import { openEventStream } from '../../platform/http/sse.js';
import { Job } from '../../platform/jobs/schemas.js';
import { Host } from '../hosts/schemas.js';
import { Project } from '../projects/schemas.js';
import { projectView } from '../projects/service.js';
import {
  Credentials,
  Instance,
  InstanceCpus,
  InstanceMemoryMb,
  InstanceName,
  InstanceStats,
  ReconcileReport,
  Stage,
} from './schemas.js';
import type { InstanceView } from './service.js';

const Accepted = Type.Object({ job: Job });

export const instanceRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { instances, projects, hosts, instanceStats } = services;

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
        summary: 'One project',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ project: Project }) }),
      },
    },
    async (request) => ({ project: projectView(await projects.get(contextOf(request).actor, request.params.id)) }),
  );

  app.get(
    '/instances',
    {
      schema: {
        tags: ['instances'],
        summary: 'Instances you can see',
        querystring: Type.Object({ project: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ instances: Type.Array(Instance) }) }),
      },
    },
    async (request) => ({
      instances: await instances.list(contextOf(request).actor, { projectId: request.query.project }),
    }),
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
          },
          { additionalProperties: false },
        ),
        response: responses({ 202: Type.Object({ instance: Instance, job: Job, credentials: Credentials }) }),
      },
    },
    async (request, reply) => reply.status(202).send(await instances.create(contextOf(request), request.body)),
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
      const visible = new Set((await instances.list(actor)).map((i) => i.id));
      // The stream itself stays allowed; what it shows shrinks to what the user may still see.
      const stream = openEventStream(request, reply, async (now) => {
        const still = new Set((await instances.list(now)).map((i) => i.id));
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
        response: responses({ 202: Accepted }),
      },
    },
    async (request, reply) =>
      reply
        .status(202)
        .send({ job: await instances.remove(contextOf(request), request.params.id, request.query.confirm) }),
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
        summary: "Reveal the instance's administrator and master passwords (organization admins; audited)",
        params: Type.Object({ id: Uuid }),
        response: responses({
          200: Type.Object({ credentials: Type.Object({ ...Credentials.properties, masterPassword: Type.String() }) }),
        }),
      },
    },
    async (request) => ({ credentials: await instances.credentials(contextOf(request), request.params.id) }),
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
