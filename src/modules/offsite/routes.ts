import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { DateTime, Nullable, responses, Uuid } from '../../platform/http/schemas.js';
import { Job } from '../../platform/jobs/schemas.js';
import { Backup, BackupFormat, BackupKind, BackupRun } from '../backups/schemas.js';
import { retryFailedCopies } from './copy-job.js';
import { passphraseLength } from './destinations.js';
import { Destination, ProbeResult, RetentionPreview, Schedule, Spec } from './schemas.js';

const S3Input = Type.Object(
  {
    endpoint: Type.Optional(Nullable(Type.String({ maxLength: 300 }))),
    region: Type.Optional(Type.String({ maxLength: 64 })),
    bucket: Type.String({ maxLength: 63 }),
    prefix: Type.Optional(Type.String({ maxLength: 200 })),
    forcePathStyle: Type.Optional(Type.Boolean()),
    accessKeyId: Type.String({ maxLength: 128 }),
    secretAccessKey: Type.String({ maxLength: 256 }),
  },
  { additionalProperties: false },
);

const SftpInput = Type.Object(
  {
    host: Type.String({ maxLength: 253 }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    username: Type.String({ maxLength: 64 }),
    folder: Type.Optional(Type.String({ maxLength: 300 })),
    hostKeyFingerprint: Type.Optional(Type.String({ maxLength: 100 })),
    privateKey: Type.Optional(Type.String({ maxLength: 20000 })),
    privateKeyPassphrase: Type.Optional(Type.String({ maxLength: 1000 })),
    password: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

const SaveAnyway = Type.Optional(
  Type.Boolean({
    description: 'Save even though the connection test fails; the destination is then marked unhealthy',
  }),
);

/** A destination just saved, with the connection test that ran first. */
const SavedDestination = Type.Object({ destination: Destination, test: ProbeResult });

/** An edit: any of the name and connection fields; secrets left out are kept. */
const DestinationChanges = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 60 })),
    s3: Type.Optional(Type.Partial(S3Input, { additionalProperties: false })),
    sftp: Type.Optional(Type.Partial(SftpInput, { additionalProperties: false })),
    saveAnyway: SaveAnyway,
  },
  { additionalProperties: false },
);

const NewDestination = Type.Object(
  {
    organizationId: Type.Optional(Nullable(Uuid)),
    name: Type.String({ minLength: 1, maxLength: 60 }),
    kind: Type.Union([Type.Literal('s3'), Type.Literal('sftp')]),
    s3: Type.Optional(S3Input),
    sftp: Type.Optional(SftpInput),
    saveAnyway: SaveAnyway,
    encryption: Type.Optional(
      Nullable(
        Type.Object(
          {
            // The service checks the minimum (its own message on the `encryption` field), so it is an annotation here.
            passphrase: Type.String({
              maxLength: passphraseLength.max,
              'x-marina-min-length': passphraseLength.min,
            }),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

const Policy = Type.Object(
  {
    last: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    daily: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    weekly: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    monthly: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  },
  { additionalProperties: false, title: 'RetentionPolicy' },
);

export const offsiteRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { destinations, schedules, retention, backups, copyRetry } = services;

  app.get(
    '/destinations',
    {
      schema: {
        tags: ['destinations'],
        summary: "Offsite destinations: an organization's own and the platform-wide ones",
        querystring: Type.Object({ organizationId: Type.Optional(Uuid) }),
        response: responses({ 200: Type.Object({ destinations: Type.Array(Destination) }) }),
      },
    },
    async (request) => ({
      destinations: await destinations.list(contextOf(request).actor, request.query.organizationId),
    }),
  );

  app.post(
    '/destinations',
    {
      schema: {
        tags: ['destinations'],
        summary:
          'Add an S3-compatible or SFTP destination (no organizationId: platform-wide, admins only). Its connection test runs first: a failing one refuses the save (MARINA_E_STORAGE, with the steps in its details) unless saveAnyway, which keeps it marked unhealthy.',
        body: NewDestination,
        response: responses({ 201: SavedDestination }),
      },
    },
    async (request, reply) => reply.status(201).send(await destinations.create(contextOf(request), request.body)),
  );

  app.patch(
    '/destinations/:id',
    {
      schema: {
        tags: ['destinations'],
        summary:
          'Edit a destination: name and connection fields; secrets left out are kept. Tested again before saving, as when added.',
        params: Type.Object({ id: Uuid }),
        body: DestinationChanges,
        response: responses({ 200: SavedDestination }),
      },
    },
    async (request) => destinations.update(contextOf(request), request.params.id, request.body),
  );

  app.get(
    '/destinations/:id',
    {
      schema: {
        tags: ['destinations'],
        summary: 'One destination (secrets are never returned)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ destination: Destination }) }),
      },
    },
    async (request) => ({ destination: await destinations.viewOne(contextOf(request).actor, request.params.id) }),
  );

  app.delete(
    '/destinations/:id',
    {
      schema: {
        tags: ['destinations'],
        summary: 'Remove a destination that keeps no copies and no schedule uses',
        params: Type.Object({ id: Uuid }),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await destinations.remove(contextOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/destinations/:id/test',
    {
      schema: {
        tags: ['destinations'],
        summary:
          'Test the connection: write, read back and delete a probe; says precisely what failed. Pins an SFTP host key seen for the first time.',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: ProbeResult }),
      },
    },
    async (request) => destinations.test(contextOf(request), request.params.id),
  );

  app.get(
    '/instances/:id/schedule',
    {
      schema: {
        tags: ['schedules'],
        summary: "An instance's backup schedule (null when it has none yet)",
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ schedule: Nullable(Schedule) }) }),
      },
    },
    async (request) => ({ schedule: await schedules.get(contextOf(request), request.params.id) }),
  );

  app.put(
    '/instances/:id/schedule',
    {
      schema: {
        tags: ['schedules'],
        summary: "Set an instance's backup schedule: when, what, where to copy, how long to keep",
        params: Type.Object({ id: Uuid }),
        body: Type.Object(
          {
            enabled: Type.Optional(Type.Boolean()),
            spec: Spec,
            kind: Type.Optional(BackupKind),
            format: Type.Optional(BackupFormat),
            destinationIds: Type.Optional(Type.Array(Uuid, { maxItems: 10 })),
            retention: Type.Optional(
              Type.Object(
                { local: Type.Optional(Policy), destinations: Type.Optional(Type.Record(Type.String(), Policy)) },
                { additionalProperties: false },
              ),
            ),
            verifyEveryDays: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 90 }))),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ schedule: Schedule }) }),
      },
    },
    async (request) => ({ schedule: await schedules.set(contextOf(request), request.params.id, request.body) }),
  );

  app.post(
    '/instances/:id/schedule/run',
    {
      schema: {
        tags: ['schedules'],
        summary: "Run the schedule's backup now (copies and retention included)",
        params: Type.Object({ id: Uuid }),
        response: responses({ 202: Type.Object({ backup: Backup, job: Job }) }),
      },
    },
    async (request, reply) => reply.status(202).send(await schedules.runNow(contextOf(request), request.params.id)),
  );

  app.get(
    '/backup-runs',
    {
      schema: {
        tags: ['schedules'],
        summary: 'History of backup runs with their copies; filter by instance, organization, status, trigger, time',
        querystring: Type.Object({
          instanceId: Type.Optional(Uuid),
          organizationId: Type.Optional(Uuid),
          status: Type.Optional(
            Type.Union([
              Type.Literal('pending'),
              Type.Literal('running'),
              Type.Literal('completed'),
              Type.Literal('failed'),
              Type.Literal('problem'),
            ]),
          ),
          trigger: Type.Optional(Type.String({ maxLength: 20 })),
          since: Type.Optional(DateTime),
          until: Type.Optional(DateTime),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
        }),
        response: responses({ 200: Type.Object({ runs: Type.Array(BackupRun) }) }),
      },
    },
    async (request) => ({ runs: await backups.queries.runs(contextOf(request).actor, request.query) }),
  );

  app.post(
    '/retention/preview',
    {
      schema: {
        tags: ['schedules'],
        summary: "What a retention policy would keep and delete of an instance's scheduled backups, before saving",
        body: Type.Object(
          {
            instanceId: Uuid,
            policy: Policy,
            destinationId: Type.Optional(Nullable(Uuid)),
            timeZone: Type.Optional(Type.String({ maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: RetentionPreview }),
      },
    },
    async (request) => retention.preview(contextOf(request), request.body),
  );

  app.post(
    '/retention/run',
    {
      schema: {
        tags: ['schedules'],
        summary: '"Clean up now": apply retention for one instance, or (platform admins) every scheduled instance',
        body: Type.Object({ instanceId: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: responses({ 202: Type.Object({ job: Job }) }),
      },
    },
    async (request, reply) =>
      reply.status(202).send({ job: await retention.cleanupNow(contextOf(request), request.body?.instanceId) }),
  );

  app.post(
    '/backups/:id/retry-copies',
    {
      schema: {
        tags: ['backups'],
        summary: '"Retry copy": upload the backup again to the destinations where its copy failed (only those)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 202: Type.Object({ job: Job }) }),
      },
    },
    async (request, reply) =>
      reply.status(202).send({ job: await retryFailedCopies(copyRetry, contextOf(request), request.params.id) }),
  );

  app.post(
    '/backups/:id/verify',
    {
      schema: {
        tags: ['backups'],
        summary: 'Test-restore a backup into a throwaway database; the result is recorded on the backup',
        params: Type.Object({ id: Uuid }),
        response: responses({ 202: Type.Object({ job: Job }) }),
      },
    },
    async (request, reply) =>
      reply.status(202).send({ job: await schedules.verifyNow(contextOf(request), request.params.id) }),
  );
};
