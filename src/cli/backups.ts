import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { Backup, Body, InstanceStage, Json, Params } from './api/types.js';
import { CliUsageError } from './errors.js';
import { ago, printJson, size, table } from './output.js';
import { finish, followJobs } from './progress.js';
import { resolveInstance, resolveProject } from './resolve.js';

/** Backups, restores, clones and imports: `marina backups …`, `marina clone`, `marina import`. */

/** Where a restore or clone goes, as their bodies say it. */
type Target = Pick<Body<'/api/v1/backups/{id}/restore', 'post'>, 'instanceId' | 'newInstance' | 'confirm'>;

/** Options passed on as typed: commander does not check them, the server does and says what it takes. */
type BackupFilter = Pick<NonNullable<Params<'/api/v1/backups', 'get'>['query']>, 'kind' | 'trigger'>;
type NewBackup = Required<Pick<Body<'/api/v1/instances/{id}/backups', 'post'>, 'kind' | 'format'>>;

async function backupOf(c: MarinaClient, id: string): Promise<Backup> {
  return (await c.call(c.api.GET('/api/v1/backups/{id}', { params: { path: { id } } }))).backup;
}

/** A byte counter with a bar on a terminal (one line at the end otherwise). */
function transferMeter(total: number, label: string): Transform {
  let done = 0;
  let drawn = 0;
  const tty = process.stderr.isTTY === true;
  const draw = () => {
    const percent = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
    const filled = Math.round(percent * 0.3);
    process.stderr.write(
      `${tty ? '\r\x1b[2K' : ''}[${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${String(percent).padStart(3)}% ${label} ${size(done)}${tty ? '' : '\n'}`,
    );
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, next) {
      done += chunk.length;
      if (tty && Date.now() - drawn > 100) {
        drawn = Date.now();
        draw();
      }
      next(null, chunk);
    },
    flush(next) {
      draw();
      if (tty) process.stderr.write('\n');
      next();
    },
  });
}

/** Where a restore, clone or import goes: --into an existing instance, or --new-name (+ --project) for a new one. */
async function targetOf(
  client: MarinaClient,
  opts: { into?: string; newName?: string; project?: string; stage?: string; adminLogin?: string; confirm?: string },
  defaultProject?: string,
): Promise<Target> {
  if (opts.into && opts.newName) throw new CliUsageError('Give either --into or --new-name, not both.');
  if (opts.newName) {
    const projectRef = opts.project ?? defaultProject;
    if (!projectRef) throw new CliUsageError('A new instance needs --project ORGANIZATION/PROJECT.');
    const project = await resolveProject(client, projectRef);
    const me = await client.call(client.api.GET('/api/v1/me')).catch(() => undefined);
    return {
      newInstance: {
        project: project.id,
        name: opts.newName,
        // The server checks the stage and says what it takes.
        stage: (opts.stage ?? 'staging') as InstanceStage,
        adminLogin: opts.adminLogin ?? me?.user.email ?? 'admin@example.com',
      },
    };
  }
  if (opts.into) {
    const instance = await resolveInstance(client, opts.into);
    return { instanceId: instance.id, confirm: opts.confirm };
  }
  return { confirm: opts.confirm };
}

function targetOptions(command: Command): Command {
  return command
    .option('--into <instance>', 'an existing instance (ORGANIZATION/PROJECT/INSTANCE or id); it is backed up first')
    .option('--new-name <name>', 'create a new instance with this name')
    .option('--project <project>', 'the new instance’s project (ORGANIZATION/PROJECT)')
    .option('--stage <stage>', 'the new instance’s stage: production, staging or development', 'staging')
    .option('--admin-login <email>', 'the new instance’s admin email (its users come from the copy)')
    .option('--confirm <name>', 'a production target’s name, typed, to confirm replacing it')
    .option('--no-neutralize', 'do not neutralize the copy (neutralized by default unless the target is production)')
    .option('--no-wait', 'return once the job is queued')
    .option('--json', 'print JSON for scripts');
}

interface TargetOpts {
  into?: string;
  newName?: string;
  project?: string;
  stage?: string;
  adminLogin?: string;
  confirm?: string;
  neutralize: boolean;
  wait: boolean;
  json?: boolean;
}

export function registerBackupCommands(program: Command, client: () => Promise<MarinaClient>): void {
  const backups = program.command('backups').description('backups of instances');
  backups
    .command('ls [instance]')
    .description("list backups (an instance's, or all you can see)")
    .option('--kind <kind>', 'full, database or filestore')
    .option('--trigger <trigger>', 'manual, schedule, pre-restore, pre-update, pre-delete or import')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string | undefined, opts: BackupFilter & { json?: boolean }) => {
      const c = await client();
      const instance = ref ? await resolveInstance(c, ref) : undefined;
      const { backups: rows } = await c.call(
        c.api.GET('/api/v1/backups', {
          params: { query: { instance: instance?.id, kind: opts.kind, trigger: opts.trigger } },
        }),
      );
      if (opts.json) return printJson(rows);
      console.log(
        table(
          rows.map((b) => ({
            id: b.id,
            instance: b.instanceLabel,
            kind: b.kind,
            format: b.format,
            size: size(b.sizeBytes),
            trigger: b.trigger,
            status: b.status,
            pinned: b.pinned ? 'pinned' : '',
            created: ago(b.createdAt),
          })),
          ['id', 'instance', 'kind', 'format', 'size', 'trigger', 'status', 'pinned', 'created'],
        ),
      );
    });
  backups
    .command('create <instance>')
    .description('back up an instance now')
    .option('--kind <kind>', 'full, database or filestore', 'full')
    .option('--format <format>', "zip (Odoo's own format) or native (Marina's fast format)", 'zip')
    .option('--no-wait', 'return once the job is queued')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: NewBackup & { wait: boolean; json?: boolean }) => {
      const c = await client();
      const instance = await resolveInstance(c, ref);
      const { backup, job } = await c.call(
        c.api.POST('/api/v1/instances/{id}/backups', {
          params: { path: { id: instance.id } },
          body: { kind: opts.kind, format: opts.format },
        }),
      );
      if (!opts.json) console.log(`Backup ${backup.id} (${backup.kind}, ${backup.format}) started.`);
      await finish(c, job, opts.wait, Boolean(opts.json));
      if (opts.wait && !opts.json) {
        const done = await backupOf(c, backup.id);
        console.log(`${size(done.sizeBytes)}, sha256 ${done.sha256}`);
      }
    });
  backups
    .command('download <backup>')
    .description('download a backup file (resumes a partial download), or its database as a .dump')
    .option('-o, --output <file>', 'where to write it (default: its download name)')
    .option(
      '--format <format>',
      "file (the backup as stored: Odoo zip or Marina's .tar.zst) or dump (its database as a PostgreSQL custom-format .dump, prepared on the server first)",
      'file',
    )
    .action(async (id: string, opts: { output?: string; format: string }) => {
      if (opts.format !== 'file' && opts.format !== 'dump')
        throw new CliUsageError(`--format is file or dump, not ${JSON.stringify(opts.format)}.`);
      const c = await client();
      const backup = await backupOf(c, id);
      if (opts.format === 'dump') {
        await downloadDump(c, backup, opts.output);
        return;
      }
      const output = opts.output ?? backup.downloadName;
      const have = await stat(output).then(
        (s) => s.size,
        () => 0,
      );
      const total = backup.sizeBytes ?? 0;
      if (have === total && total > 0) {
        console.log(`${output} is already complete.`);
        return;
      }
      const resume = have > 0 && have < total;
      const response = await c.raw(
        'get',
        '/api/v1/backups/{id}/download',
        { path: { id } },
        { headers: resume ? { range: `bytes=${have}-` } : {} },
      );
      if (!response.body) throw new Error('The download has no body.');
      const appending = resume && response.status === 206;
      await pipeline(
        Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
        transferMeter(total - (appending ? have : 0), 'downloaded'),
        createWriteStream(output, { flags: appending ? 'a' : 'w' }),
      );
      // What arrived must be what Marina wrote: the checksum proves it.
      const { createHash } = await import('node:crypto');
      const hash = createHash('sha256');
      await pipeline(createReadStream(output), hash);
      const sha = hash.digest('hex');
      if (sha !== backup.sha256) throw new Error(`The downloaded file's sha256 is ${sha}, not ${backup.sha256}.`);
      console.log(`Saved ${output} (${size(total)}, sha256 verified).`);
    });
  targetOptions(
    backups
      .command('restore <backup>')
      .description('restore a backup: into its own instance (default), --into another, or --new-name a new one'),
  ).action(async (id: string, opts: TargetOpts) => {
    const c = await client();
    const target = await targetOf(c, opts);
    const { job, instance } = await c.call(
      c.api.POST('/api/v1/backups/{id}/restore', {
        params: { path: { id } },
        body: { ...target, ...(opts.neutralize ? {} : { neutralize: false }) },
      }),
    );
    if (!opts.json) console.log(`Restoring into ${instance.name}…`);
    await finish(c, job, opts.wait, Boolean(opts.json));
  });
  backups
    .command('rm <backup>')
    .description('delete a backup and its file')
    .option('-y, --yes', 'do not ask')
    .action(async (id: string, opts: { yes?: boolean }) => {
      const c = await client();
      const backup = await backupOf(c, id);
      if (!opts.yes) {
        const { confirm } = await import('./prompt.js');
        const ok = await confirm(
          `Delete the ${backup.kind} backup of ${backup.instanceLabel} (${size(backup.sizeBytes)})?`,
        );
        if (!ok) throw new CliUsageError('Not deleted.');
      }
      await c.call(c.api.DELETE('/api/v1/backups/{id}', { params: { path: { id } } }));
      console.log(`Deleted backup ${id}.`);
    });
  backups
    .command('pin <backup>')
    .description('pin a backup (no cleanup deletes it); --off to unpin')
    .option('--off', 'unpin')
    .action(async (id: string, opts: { off?: boolean }) => {
      const c = await client();
      const { backup } = await c.call(
        c.api.POST('/api/v1/backups/{id}/pin', { params: { path: { id } }, body: { pinned: !opts.off } }),
      );
      console.log(`Backup ${backup.id} is ${backup.pinned ? 'pinned' : 'not pinned'}.`);
    });

  targetOptions(
    program
      .command('clone <source> [target]')
      .description(
        'copy an instance (a snapshot: its users stay connected) into TARGET or --new-name; copies other than production are neutralized',
      )
      .option('--no-filestore', 'copy the database only'),
  ).action(async (sourceRef: string, targetRef: string | undefined, opts: TargetOpts & { filestore: boolean }) => {
    const c = await client();
    const source = await resolveInstance(c, sourceRef);
    const target = await targetOf(c, { ...opts, into: opts.into ?? targetRef });
    if (!target.newInstance && !target.instanceId)
      throw new CliUsageError('Say where to clone to: TARGET, --into or --new-name.');
    const { job, instance } = await c.call(
      c.api.POST('/api/v1/instances/{id}/clone', {
        params: { path: { id: source.id } },
        body: { ...target, filestore: opts.filestore, ...(opts.neutralize ? {} : { neutralize: false }) },
      }),
    );
    if (!opts.json) console.log(`Cloning ${source.name} into ${instance.name}…`);
    await finish(c, job, opts.wait, Boolean(opts.json));
  });

  targetOptions(
    program
      .command('import <file>')
      .description(
        "import a backup made by Odoo's database manager (a zip, or a .dump: pg_dump custom format), Odoo.sh or Marina into --new-name or --into; Marina recognises the file by its content",
      ),
  ).action(async (file: string, opts: TargetOpts) => {
    const c = await client();
    const bytes = await stat(file).then(
      (s) => s.size,
      () => {
        throw new CliUsageError(`No file ${file}.`);
      },
    );
    const target = await targetOf(c, opts);
    if (!target.newInstance && !target.instanceId)
      throw new CliUsageError('Say where to import: --new-name NAME --project ORG/PROJECT, or --into INSTANCE.');
    const query: NonNullable<Params<'/api/v1/imports', 'post'>['query']> = target.newInstance
      ? {
          project: target.newInstance.project,
          name: target.newInstance.name,
          stage: target.newInstance.stage,
          adminLogin: target.newInstance.adminLogin,
        }
      : { instance: target.instanceId, confirm: opts.confirm };
    if (!opts.neutralize) query.neutralize = false;
    const body = Readable.toWeb(createReadStream(file).pipe(transferMeter(bytes, 'uploaded')));
    // A stream with an upload meter: openapi-fetch sends JSON bodies only.
    const response = await c.raw(
      'post',
      '/api/v1/imports',
      { query },
      {
        // The server tells a zip from a .dump by its first bytes, whatever the name or type says.
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
        body: body as unknown as RequestInit['body'],
      },
    );
    const { job, instance } = (await response.json()) as Json<'/api/v1/imports', 'post', 202>;
    if (!opts.json) console.log(`Importing into ${instance.name}…`);
    await finish(c, job, opts.wait, Boolean(opts.json));
  });
}

/**
 * A backup's database as a .dump: prepared first on the server (a job loads it into a throwaway
 * database and pg_dumps it), followed with a progress bar, then streamed whole.
 */
async function downloadDump(c: MarinaClient, backup: Backup, output?: string): Promise<void> {
  const target = output ?? backup.downloadName.replace(/\.(zip|tar\.zst)$/, '.dump');
  const prepared = await c.call(c.api.POST('/api/v1/backups/{id}/dump', { params: { path: { id: backup.id } } }));
  if (!prepared.ready) {
    process.stderr.write('Preparing the .dump (the backup is loaded into a throwaway database and dumped):\n');
    const [final] = await followJobs(c, [prepared.job]);
    if (final?.status !== 'succeeded') throw new Error('Preparing the .dump failed (its error is above).');
  }
  const response = await c.raw('get', '/api/v1/backups/{id}/download', {
    path: { id: backup.id },
    query: { format: 'dump' },
  });
  if (!response.body) throw new Error('The download has no body.');
  const total = Number(response.headers.get('content-length') ?? 0);
  await pipeline(
    Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
    transferMeter(total, 'downloaded'),
    createWriteStream(target),
  );
  console.log(`Saved ${target} (${size(total)}, a PostgreSQL custom-format dump).`);
}
