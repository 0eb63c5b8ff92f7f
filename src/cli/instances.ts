import { type Command, Option } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { InstanceStage, Json } from './api/types.js';
import { wholeNumber } from './args.js';
import { CliUsageError } from './errors.js';
import { registerInstanceCredentialCommands } from './instance-credentials.js';
import { registerInstanceMoveCommand } from './instance-move.js';
import { instancePages, type ListedInstance } from './instance-pages.js';
import { registerInstanceRecoveryCommands } from './instance-recovery.js';
import { registerInstanceUndoCommand, undoJob, undoLines } from './instance-undo.js';
import { ago, pagedTable, printJson, table } from './output.js';
import { finish, watchJob } from './progress.js';
import { resolveInstance, resolveProject } from './resolve.js';

/** Projects and their Odoo instances: `marina projects …` and `marina instances …`. */

type Stats = Json<'/api/v1/instances/{id}/stats', 'get'>['stats'];

const uptime = (startedAt: string | null) => (startedAt ? ago(startedAt).replace(' ago', '') : '-');

export function registerInstanceCommands(program: Command, client: () => Promise<MarinaClient>): void {
  const projects = program.command('projects').description('projects (one customer application each)');
  projects
    .command('ls')
    .description('list projects')
    .option('--org <organization>', 'only this organization')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { org?: string; json?: boolean }) => {
      const c = await client();
      const { projects: rows } = await c.call(
        c.api.GET('/api/v1/projects', { params: { query: { organization: opts.org } } }),
      );
      if (opts.json) return printJson(rows);
      console.log(
        table(
          rows.map(({ instanceCounts, ...p }) => ({ ...p, version: p.odooVersion, ...instanceCounts })),
          ['name', 'displayName', 'version', 'production', 'staging', 'development', 'id'],
        ),
      );
    });
  projects
    .command('create <name>')
    .description('create a project')
    .requiredOption('--org <organization>', 'its organization (slug or id)')
    .requiredOption('--odoo <version>', 'Odoo version: 16.0, 17.0, 18.0 or 19.0')
    .option('--display-name <name>', 'a display name')
    .option('--json', 'print JSON for scripts')
    .action(async (name: string, opts: { org: string; odoo: string; displayName?: string; json?: boolean }) => {
      const c = await client();
      const { project } = await c.call(
        c.api.POST('/api/v1/projects', {
          body: { organization: opts.org, name, odooVersion: opts.odoo, displayName: opts.displayName },
        }),
      );
      if (opts.json) return printJson(project);
      console.log(`Created project ${opts.org}/${project.name} (Odoo ${project.odooVersion}, ${project.id}).`);
    });

  const instances = program.command('instances').description('Odoo instances');
  instances
    .command('ls')
    .description('list instances, newest first, a page at a time')
    .option('--project <project>', 'only this project (ORGANIZATION/PROJECT or id)')
    .option('--limit <n>', 'only the newest n (default: every one)')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { project?: string; limit?: string; json?: boolean }) => {
      const limit = opts.limit === undefined ? undefined : wholeNumber(opts.limit, '--limit', 1, 1_000_000);
      const c = await client();
      const project = opts.project ? await resolveProject(c, opts.project) : undefined;
      const print = pagedTable(['name', 'stage', 'version', 'status', 'uptime', 'size', 'url', 'id']);
      const rows: ListedInstance[] = [];
      let listed = 0;
      let total: number | null = null;
      let more = false;
      for await (const page of instancePages(c, { project: project?.id, limit })) {
        total ??= page.total;
        more = page.more;
        listed += page.rows.length;
        // Scripts get one JSON array at the end; people see each page as it arrives.
        if (opts.json) rows.push(...page.rows);
        if (opts.json || page.rows.length === 0) continue;
        console.log(
          print(
            // The table shows flat fields only: where the admin password comes from is `credentials`'s,
            // a kept undo is `show`'s.
            page.rows.map(({ credentialsOrigin: _origin, undo: _undo, ...i }) => ({
              ...i,
              version: i.odooVersion,
              uptime: uptime(i.startedAt),
              size: `${i.cpus} CPU / ${i.memoryMb} MB`,
            })),
          ),
        );
      }
      if (opts.json) return printJson(rows);
      if (listed === 0) console.log('(none)');
      else if (more)
        console.error(`The newest ${listed} of ${total ?? 'more'} instances; a larger --limit shows more.`);
    });
  instances
    .command('create <name>')
    .description('create an instance; prints the administrator credentials once, then follows the job')
    .requiredOption('--project <project>', 'ORGANIZATION/PROJECT or project id')
    .requiredOption('--admin-login <email>', "the customer's administrator login")
    .addOption(
      new Option('--stage <stage>', 'production, staging or development')
        .choices(['production', 'staging', 'development'])
        .default('development'),
    )
    .option('--cpus <cpus>', 'CPUs (0.5 to 16)', '1')
    .option('--memory <mb>', 'memory limit in MB (512 to 65536)', '2048')
    .option('--language <code>', 'Odoo language code', 'en_US')
    .option('--country <code>', 'two-letter country code of the company')
    .option('--no-wait', 'return at once instead of following the job')
    .option('--json', 'print JSON for scripts')
    .action(
      async (
        name: string,
        opts: {
          project: string;
          adminLogin: string;
          stage: InstanceStage;
          cpus: string;
          memory: string;
          language: string;
          country?: string;
          wait: boolean;
          json?: boolean;
        },
      ) => {
        const cpus = Number(opts.cpus);
        const memoryMb = Number(opts.memory);
        if (!Number.isFinite(cpus)) throw new CliUsageError('--cpus: give a number such as 1 or 2.5');
        if (!Number.isInteger(memoryMb)) throw new CliUsageError('--memory: give a whole number of MB such as 2048');
        const c = await client();
        const project = await resolveProject(c, opts.project);
        const created = await c.call(
          c.api.POST('/api/v1/instances', {
            body: {
              project: project.id,
              name,
              stage: opts.stage,
              cpus,
              memoryMb,
              adminLogin: opts.adminLogin,
              language: opts.language,
              country: opts.country,
            },
          }),
        );
        if (opts.json) {
          // One JSON document: with --wait it carries the finished job.
          if (!opts.wait) return printJson(created);
          const final = await watchJob(c, created.job.id);
          printJson({ ...created, job: final });
          if (final.status !== 'succeeded') throw new Error(`The job failed: ${final.error?.message ?? final.status}`);
          return;
        }
        console.log(`Creating ${name} (Odoo ${created.instance.odooVersion}, ${opts.stage}) — ${created.instance.id}`);
        console.log(
          `  URL:      ${created.credentials.url}\n  Login:    ${created.credentials.login}\n  Password: ${created.credentials.password}`,
        );
        console.log('  Keep the password now; admins can reveal it later in the web UI.');
        await finish(c, created.job, opts.wait, false);
      },
    );
  instances
    .command('show <instance>')
    .description('one instance, with its current stats')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const c = await client();
      const instance = await resolveInstance(c, ref);
      // Stats need the container: without them the instance is still shown.
      const { stats } = await c
        .call(c.api.GET('/api/v1/instances/{id}/stats', { params: { path: { id: instance.id } } }))
        .catch(() => ({ stats: {} as Partial<Stats> }));
      if (opts.json) return printJson({ instance, stats });
      const undoneBy = await undoJob(c, instance.undo);
      const mb = (v: unknown) => (typeof v === 'number' ? `${Math.round(v / 1024 / 1024)} MB` : '-');
      console.log(
        `${instance.name} (${instance.stage}, Odoo ${instance.odooVersion}) — ${instance.status}${instance.statusDetail ? `: ${instance.statusDetail}` : ''}`,
      );
      console.log(
        `  URL:        ${instance.url ?? '-'}\n  Admin:      ${instance.adminLogin}\n  Uptime:     ${uptime(instance.startedAt)}`,
      );
      console.log(
        `  CPU:        ${stats.cpuPercent ?? '-'}%   Memory: ${mb(stats.memoryBytes)} of ${mb(stats.memoryLimitBytes)}`,
      );
      console.log(
        `  Database:   ${mb(stats.databaseBytes)}   Filestore: ${mb(stats.filestoreBytes)}\n  Id:         ${instance.id}`,
      );
      for (const line of undoLines(instance.undo, { ref, job: undoneBy })) console.log(line);
    });
  for (const action of ['start', 'stop', 'restart'] as const) {
    instances
      .command(`${action} <instance>`)
      .description(`${action} an instance${action === 'stop' ? ' (production: --confirm NAME)' : ''}`)
      .option('--confirm <name>', 'the instance name, for production instances')
      .option('--no-wait', 'return at once instead of following the job')
      .option('--json', 'print JSON for scripts')
      .action(async (ref: string, opts: { confirm?: string; wait: boolean; json?: boolean }) => {
        const c = await client();
        const instance = await resolveInstance(c, ref);
        const { job } = await c.call(
          c.api.POST(`/api/v1/instances/{id}/${action}`, {
            params: { path: { id: instance.id } },
            body: { confirm: opts.confirm },
          }),
        );
        await finish(c, job, opts.wait, opts.json ?? false);
      });
  }
  instances
    .command('rm <instance>')
    .description('delete an instance: container, filestore, database (production: --confirm NAME)')
    .option('--confirm <name>', 'the instance name, for production instances')
    .option('--no-wait', 'return at once instead of following the job')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { confirm?: string; wait: boolean; json?: boolean }) => {
      const c = await client();
      const instance = await resolveInstance(c, ref);
      const { job } = await c.call(
        c.api.DELETE('/api/v1/instances/{id}', {
          params: { path: { id: instance.id }, query: { confirm: opts.confirm || undefined } },
        }),
      );
      await finish(c, job, opts.wait, opts.json ?? false);
    });
  registerInstanceCredentialCommands(instances, client);
  registerInstanceUndoCommand(instances, client);
  registerInstanceRecoveryCommands(instances, client);
  registerInstanceMoveCommand(instances, client);
}
