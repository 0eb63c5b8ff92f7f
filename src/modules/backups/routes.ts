import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MarinaError } from '../../platform/errors.js';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { Email, responses, Uuid } from '../../platform/http/schemas.js';
import { Job } from '../../platform/jobs/schemas.js';
import { Instance, InstanceCpus, InstanceMemoryMb, InstanceName, Stage } from '../instances/schemas.js';
import { sendDump } from './dump-download.js';
import {
  Backup,
  BackupFormat,
  BackupKind,
  BackupStatus,
  BackupTrigger,
  DatabaseInfo,
  DownloadFormat,
  ImportLimits,
} from './schemas.js';

const NewInstance = Type.Object(
  {
    project: Uuid,
    name: InstanceName,
    stage: Stage,
    cpus: Type.Optional(InstanceCpus),
    memoryMb: Type.Optional(InstanceMemoryMb),
    adminLogin: Email,
  },
  { additionalProperties: false, description: 'A new instance to create and fill' },
);

const Target = {
  instanceId: Type.Optional(Uuid),
  newInstance: Type.Optional(NewInstance),
  neutralize: Type.Optional(
    Type.Boolean({ description: 'Neutralize the copy (default: yes unless the target is production)' }),
  ),
  confirm: Type.Optional(Type.String({ maxLength: 100, description: "A production target's name, typed" })),
};

const Filled = Type.Object({ job: Job, instance: Instance });

/** "bytes=a-b", "bytes=a-", "bytes=-n" (one range; several are answered whole, as RFC 9110 allows). */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'whole' | 'unsatisfiable' {
  if (!header) return 'whole';
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'whole';
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

export const backupRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, config }) => {
  const { backups, restoreUndo } = services;

  // Uploads arrive as raw bytes and flow to disk as a stream; the service enforces the size limit.
  app.addContentTypeParser(['application/zip', 'application/octet-stream'], (_request, payload, done) =>
    done(null, payload),
  );

  app.get(
    '/instances/:id/backups',
    {
      schema: {
        tags: ['backups'],
        summary: "An instance's backups, newest first",
        params: Type.Object({ id: Uuid }),
        querystring: Type.Object(
          {
            kind: Type.Optional(BackupKind),
            status: Type.Optional(BackupStatus),
            trigger: Type.Optional(BackupTrigger),
            pinned: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ backups: Type.Array(Backup) }) }),
      },
    },
    async (request) => ({
      backups: await backups.queries.list(contextOf(request).actor, {
        ...request.query,
        instanceId: request.params.id,
      }),
    }),
  );

  app.post(
    '/instances/:id/backups',
    {
      schema: {
        tags: ['backups'],
        summary: 'Back up an instance now: answers 202 with the backup (pending) and its job',
        params: Type.Object({ id: Uuid }),
        body: Type.Object(
          {
            kind: Type.Optional(BackupKind),
            format: Type.Optional(BackupFormat),
            destinationIds: Type.Optional(
              Type.Array(Uuid, { maxItems: 10, description: 'Offsite destinations to copy the backup to' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 202: Type.Object({ backup: Backup, job: Job }) }),
      },
    },
    async (request, reply) =>
      reply.status(202).send(await backups.create(contextOf(request), request.params.id, request.body ?? {})),
  );

  app.get(
    '/backups',
    {
      schema: {
        tags: ['backups'],
        summary: 'Backups you can see, also those of deleted instances (their pre-delete safety backups)',
        querystring: Type.Object(
          {
            organization: Type.Optional(Uuid),
            instance: Type.Optional(Uuid),
            kind: Type.Optional(BackupKind),
            status: Type.Optional(BackupStatus),
            trigger: Type.Optional(BackupTrigger),
            pinned: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ backups: Type.Array(Backup) }) }),
      },
    },
    async (request) => {
      const { organization, instance, ...filter } = request.query;
      return {
        backups: await backups.queries.list(contextOf(request).actor, {
          ...filter,
          organizationId: organization,
          instanceId: instance,
        }),
      };
    },
  );

  app.get(
    '/backups/:id',
    {
      schema: {
        tags: ['backups'],
        summary: 'One backup',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ backup: Backup }) }),
      },
    },
    async (request) => {
      const [backup] = await backups.views([await backups.get(contextOf(request).actor, request.params.id)]);
      return { backup: backup as NonNullable<typeof backup> };
    },
  );

  app.delete(
    '/backups/:id',
    {
      schema: {
        tags: ['backups'],
        summary: 'Delete a backup and its file (pinned backups are refused)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await backups.remove(contextOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/backups/:id/pin',
    {
      schema: {
        tags: ['backups'],
        summary: 'Pin a backup (no cleanup ever deletes it), or unpin it with {"pinned": false}',
        params: Type.Object({ id: Uuid }),
        body: Type.Optional(Type.Object({ pinned: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
        response: responses({ 200: Type.Object({ backup: Backup }) }),
      },
    },
    async (request) => ({
      backup: await backups.pin(contextOf(request), request.params.id, request.body?.pinned ?? true),
    }),
  );

  app.get(
    '/backups/:id/download',
    {
      schema: {
        tags: ['backups'],
        summary:
          'Download a backup file, streamed, with HTTP Range support (resumable); format=dump gives its database as a .dump, once prepared (POST /backups/{id}/dump)',
        params: Type.Object({ id: Uuid }),
        querystring: Type.Object({ format: Type.Optional(DownloadFormat) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const file = await backups.download(contextOf(request), request.params.id);
      if (request.query.format === 'dump') return sendDump(reply, file);
      const range = parseRange(request.headers.range, file.size);
      reply
        .header('accept-ranges', 'bytes')
        .header('content-type', file.name.endsWith('.zip') ? 'application/zip' : 'application/zstd')
        .header('content-disposition', `attachment; filename="${file.name}"`)
        .header('etag', `"${file.sha256}"`)
        .header('x-checksum-sha256', file.sha256);
      if (file.remote) {
        // From an offsite copy, decrypted on the fly: whole, since a range would need the whole anyway.
        reply.header('accept-ranges', 'none').header('content-length', String(file.size));
        return reply.send(await file.remote());
      }
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${file.size}`);
        throw new MarinaError('MARINA_E_RANGE_NOT_SATISFIABLE');
      }
      if (range === 'whole') {
        reply.header('content-length', String(file.size));
        return reply.send(createReadStream(file.path));
      }
      return reply
        .status(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
        .header('content-length', String(range.end - range.start + 1))
        .send(createReadStream(file.path, { start: range.start, end: range.end }));
    },
  );

  app.post(
    '/backups/:id/dump',
    {
      schema: {
        tags: ['backups'],
        summary:
          'Prepare the backup as a PostgreSQL custom-format .dump (database only, pg_dump --format=c --no-owner), kept beside it: 200 when it is ready to download with format=dump, else 202 with the job preparing it',
        params: Type.Object({ id: Uuid }),
        response: responses({
          200: Type.Object({ ready: Type.Literal(true) }),
          202: Type.Object({ ready: Type.Literal(false), job: Job }),
        }),
      },
    },
    async (request, reply) => {
      const prepared = await backups.prepareDump(contextOf(request), request.params.id);
      return prepared.ready ? reply.status(200).send(prepared) : reply.status(202).send(prepared);
    },
  );

  app.post(
    '/backups/:id/restore',
    {
      schema: {
        tags: ['backups'],
        summary:
          'Restore a backup into its instance (the default), another instance, or a new one. An existing target is stopped and backed up first.',
        params: Type.Object({ id: Uuid }),
        body: Type.Object(Target, { additionalProperties: false }),
        response: responses({ 202: Filled }),
      },
    },
    async (request, reply) =>
      reply.status(202).send(await backups.restore(contextOf(request), request.params.id, request.body)),
  );

  app.post(
    '/instances/:id/undo-restore',
    {
      schema: {
        tags: ['backups'],
        summary:
          'Swap back the database and filestore the last restore or clone over this instance replaced (kept until `undo.until`); what is swapped out is kept as the undo in turn. Production needs "confirm": its name',
        params: Type.Object({ id: Uuid }),
        body: Type.Optional(
          Type.Object({ confirm: Type.Optional(Type.String({ maxLength: 60 })) }, { additionalProperties: false }),
        ),
        response: responses({ 202: Type.Object({ job: Job }) }),
      },
    },
    async (request, reply) =>
      reply.status(202).send({
        job: await restoreUndo.undo(contextOf(request), request.params.id, request.body?.confirm),
      }),
  );

  app.post(
    '/instances/:id/clone',
    {
      schema: {
        tags: ['backups'],
        summary:
          'Clone an instance (a pg_dump snapshot: its users stay connected) into another instance or a new one; copies other than production are neutralized',
        params: Type.Object({ id: Uuid }),
        body: Type.Object(
          { ...Target, filestore: Type.Optional(Type.Boolean({ description: 'Copy the filestore too (default)' })) },
          { additionalProperties: false },
        ),
        response: responses({ 202: Filled }),
      },
    },
    async (request, reply) =>
      reply.status(202).send(await backups.clone(contextOf(request), request.params.id, request.body)),
  );

  app.get(
    '/instances/:id/database',
    {
      schema: {
        tags: ['backups'],
        summary: 'Database info card: size, table count, filestore size, last backup',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ database: DatabaseInfo }) }),
      },
    },
    async (request) => ({ database: await backups.queries.databaseInfo(contextOf(request).actor, request.params.id) }),
  );

  app.post(
    '/imports',
    {
      schema: {
        tags: ['backups'],
        summary: `Import a backup made by Odoo's database manager, Odoo.sh or Marina — an Odoo zip (with or without filestore) or a PostgreSQL custom-format .dump, recognised by its content (body: the file, application/zip or application/octet-stream; at most ${Math.round(config.backups.uploadLimitBytes / 1024 / 1024)} MB) into a new instance (project, name, stage, adminLogin) or an existing one (instance, confirm)`,
        querystring: Type.Object(
          {
            instance: Type.Optional(Uuid),
            confirm: Type.Optional(Type.String({ maxLength: 100 })),
            project: Type.Optional(Uuid),
            name: Type.Optional(InstanceName),
            stage: Type.Optional(Stage),
            adminLogin: Type.Optional(Email),
            neutralize: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: responses({ 202: Type.Object({ job: Job, instance: Instance, backup: Backup }) }),
      },
    },
    async (request, reply) => {
      const body = request.body as Readable | undefined;
      if (!body || typeof (body as Readable).pipe !== 'function')
        throw new MarinaError(
          'MARINA_E_UNSUPPORTED_MEDIA_TYPE',
          'Send the backup file itself as the body: an Odoo zip as application/zip, a .dump as application/octet-stream.',
        );
      const declared = Number(request.headers['content-length'] ?? 0);
      if (declared > config.backups.uploadLimitBytes) {
        body.resume();
        throw new MarinaError(
          'MARINA_E_PAYLOAD_TOO_LARGE',
          `The upload is larger than the limit of ${Math.round(config.backups.uploadLimitBytes / 1024 / 1024)} MB (MARINA_UPLOAD_LIMIT_MB).`,
        );
      }
      const q = request.query;
      const result = await backups.importZip(contextOf(request), body, {
        instanceId: q.instance,
        confirm: q.confirm,
        neutralize: q.neutralize,
        newInstance:
          q.instance === undefined
            ? {
                project: q.project,
                name: q.name,
                stage: q.stage ?? 'staging',
                adminLogin: q.adminLogin ?? contextOfEmail(request),
              }
            : undefined,
      });
      return reply.status(202).send(result);
    },
  );

  app.get(
    '/settings/imports',
    {
      schema: {
        tags: ['settings'],
        summary: 'What an imported archive may hold: checked before anything is written',
        response: responses({ 200: Type.Object({ imports: ImportLimits }) }),
      },
    },
    async () => ({ imports: await services.importLimits.get() }),
  );

  app.put(
    '/settings/imports',
    {
      schema: {
        tags: ['settings'],
        summary: 'Change the import limits (platform admins); fields left out keep their value',
        body: Type.Partial(ImportLimits, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ imports: ImportLimits }) }),
      },
    },
    async (request) => ({ imports: await services.importLimits.set(contextOf(request), request.body) }),
  );
};

function contextOfEmail(request: Parameters<typeof contextOf>[0]): string | undefined {
  const actor = contextOf(request).actor;
  return actor.kind === 'user' ? actor.email : undefined;
}
