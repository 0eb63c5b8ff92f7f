import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MarinaError } from '../../platform/errors.js';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';
import { Job } from '../../platform/jobs/schemas.js';
import { receivePush } from './push-hooks.js';
import { Repository } from './schemas.js';

// Shapes at the edge; the service validates URLs, branches and folders for meaning.
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });
const Branches = Type.Record(Uuid, Text(200), {
  description: "Instance id → branch, for instances that do not follow the repository's branch",
});

const NewRepository = Type.Object(
  {
    url: Text(500),
    branch: Text(200),
    name: Type.Optional(Text(63)),
    subfolder: Type.Optional(Type.String({ maxLength: 200 })),
    submodules: Type.Optional(Type.Boolean()),
    autoRestart: Type.Optional(Type.Boolean()),
    autoUpgrade: Type.Optional(Type.Boolean()),
    branches: Type.Optional(Branches),
    knownHosts: Type.Optional(
      Type.String({ maxLength: 20_000, description: 'known_hosts lines to pin instead of scanning the host' }),
    ),
  },
  { additionalProperties: false },
);

const RepositoryChange = Type.Object(
  {
    branch: Type.Optional(Text(200)),
    autoRestart: Type.Optional(Type.Boolean()),
    autoUpgrade: Type.Optional(Type.Boolean()),
    branches: Type.Optional(Branches),
  },
  { additionalProperties: false },
);

export const repositoryRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { repositories } = services;

  app.get(
    '/projects/:id/repositories',
    {
      schema: {
        tags: ['repositories'],
        summary: "A project's git repositories with each instance's checkout",
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ repositories: Type.Array(Repository) }) }),
      },
    },
    async (request) => ({ repositories: await repositories.list(contextOf(request).actor, request.params.id) }),
  );

  app.post(
    '/projects/:id/repositories',
    {
      schema: {
        tags: ['repositories'],
        summary: 'Add a repository: a deploy key is generated, each instance clones it and restarts',
        params: Type.Object({ id: Uuid }),
        body: NewRepository,
        response: responses({ 201: Type.Object({ repository: Repository, jobs: Type.Array(Job) }) }),
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(
          await repositories.create(contextOf(request), request.params.id, request.body, services.submitRepositoryJob),
        ),
  );

  app.get(
    '/repositories/:id',
    {
      schema: {
        tags: ['repositories'],
        summary: 'One repository: per instance HEAD, dirty, ahead/behind, diverged and recent commits',
        params: Type.Object({ id: Uuid }),
        querystring: Type.Object({
          fetch: Type.Optional(
            Type.String({
              maxLength: 10,
              deprecated: true,
              description: 'Refused: a GET never runs git. POST /repositories/{id}/fetch fetches first.',
            }),
          ),
        }),
        response: responses({ 200: Type.Object({ repository: Repository }) }),
      },
    },
    async (request) => {
      // Refused rather than ignored: an old client that asked for a fetch learns it got none.
      if (request.query.fetch !== undefined)
        throw new MarinaError(
          'MARINA_E_VALIDATION',
          'GET no longer fetches from the remote: POST /api/v1/repositories/{id}/fetch does.',
          { field: 'fetch' },
        );
      return { repository: await repositories.describe(contextOf(request).actor, request.params.id) };
    },
  );

  app.post(
    '/repositories/:id/fetch',
    {
      schema: {
        tags: ['repositories'],
        summary: "Fetch from the remote into each instance's checkout, then answer the same status as GET",
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ repository: Repository }) }),
      },
    },
    async (request) => ({ repository: await repositories.fetchStatus(contextOf(request), request.params.id) }),
  );

  app.patch(
    '/repositories/:id',
    {
      schema: {
        tags: ['repositories'],
        summary: 'Change branches and auto-restart / auto-upgrade; a moved branch updates that instance',
        params: Type.Object({ id: Uuid }),
        body: RepositoryChange,
        response: responses({ 200: Type.Object({ repository: Repository, jobs: Type.Array(Job) }) }),
      },
    },
    async (request) =>
      repositories.change(contextOf(request), request.params.id, request.body, services.submitRepositoryJob),
  );

  app.delete(
    '/repositories/:id',
    {
      schema: {
        tags: ['repositories'],
        summary: 'Remove a repository; each instance restarts without its folder',
        params: Type.Object({ id: Uuid }),
        response: responses({ 202: Type.Object({ jobs: Type.Array(Job) }) }),
      },
    },
    async (request, reply) =>
      reply.status(202).send({
        jobs: await repositories.remove(contextOf(request), request.params.id, services.submitRepositoryJob),
      }),
  );

  app.post(
    '/repositories/:id/pull',
    {
      schema: {
        tags: ['repositories'],
        summary: 'Update: fetch, fast-forward, back up, upgrade the changed modules, restart; rolled back on failure',
        params: Type.Object({ id: Uuid }),
        body: Type.Optional(
          Type.Object(
            { instanceId: Type.Optional(Uuid) },
            { additionalProperties: false, description: 'Only this instance (default: every instance)' },
          ),
        ),
        response: responses({ 202: Type.Object({ jobs: Type.Array(Job) }) }),
      },
    },
    async (request, reply) =>
      reply.status(202).send({
        jobs: await repositories.pull(
          contextOf(request),
          request.params.id,
          request.body ?? {},
          services.submitRepositoryJob,
        ),
      }),
  );

  // Push events are signed, not authenticated: the raw bytes are what GitHub and Gitea signed.
  await app.register(async (hooks) => {
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser(
      ['application/json', 'application/x-www-form-urlencoded'],
      { parseAs: 'buffer', bodyLimit: 5 * 1024 * 1024 },
      (_request, body, done) => done(null, body),
    );
    hooks.post(
      '/hooks/git/:token',
      {
        config: { public: true },
        schema: {
          tags: ['repositories'],
          summary: 'Push to deploy: GitHub, GitLab and Gitea push events (signature or secret checked)',
          params: Type.Object({ token: Type.String({ minLength: 1, maxLength: 100 }) }),
          response: responses({
            200: Type.Object({ accepted: Type.Boolean(), reason: Type.String(), jobs: Type.Array(Job) }),
            202: Type.Object({ accepted: Type.Boolean(), reason: Type.String(), jobs: Type.Array(Job) }),
          }),
        },
      },
      async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const result = await receivePush(
          repositories,
          (request.params as { token: string }).token,
          request.headers,
          body,
          services.submitRepositoryJob,
          services.pushHookGuard,
        );
        return reply.status(result.accepted ? 202 : 200).send(result);
      },
    );
  });
};
