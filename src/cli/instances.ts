import { type Command, Option } from 'commander';
import type { MarinaClient } from './client.js';
import { ago, printJson, table } from './output.js';
import { type JobSnapshot, watchJob } from './progress.js';

interface Project {
  id: string;
  organizationId: string;
  name: string;
  displayName: string;
  odooVersion: string;
}
interface Organization {
  id: string;
  slug: string;
}
interface Instance {
  id: string;
  projectId: string;
  name: string;
  stage: string;
  odooVersion: string;
  status: string;
  statusDetail: string | null;
  url: string | null;
  startedAt: string | null;
  cpus: number;
  memoryMb: number;
  adminLogin: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class CliUsageError extends Error {}

/** "org/project" or a project id. */
export async function resolveProject(client: MarinaClient, ref: string): Promise<Project> {
  const { projects } = await client.get<{ projects: Project[] }>('/projects');
  if (UUID.test(ref)) {
    const found = projects.find((p) => p.id === ref);
    if (found) return found;
  }
  const [org, name] = ref.split('/');
  if (org && name) {
    const { organizations } = await client.get<{ organizations: Organization[] }>('/organizations');
    const orgId = organizations.find((o) => o.slug === org || o.id === org)?.id;
    const found = projects.find((p) => p.organizationId === orgId && p.name === name);
    if (found) return found;
  }
  throw new CliUsageError(`No project "${ref}": give its id or ORGANIZATION/PROJECT (see \`marina projects ls\`).`);
}

/** "org/project/instance" or an instance id. */
export async function resolveInstance(client: MarinaClient, ref: string): Promise<Instance> {
  if (UUID.test(ref)) return (await client.get<{ instance: Instance }>(`/instances/${ref}`)).instance;
  const parts = ref.split('/');
  if (parts.length === 3) {
    const project = await resolveProject(client, `${parts[0]}/${parts[1]}`);
    const { instances } = await client.get<{ instances: Instance[] }>('/instances', { project: project.id });
    const found = instances.find((i) => i.name === parts[2]);
    if (found) return found;
  }
  throw new CliUsageError(
    `No instance "${ref}": give its id or ORGANIZATION/PROJECT/INSTANCE (see \`marina instances ls\`).`,
  );
}

const uptime = (startedAt: string | null) => (startedAt ? ago(startedAt).replace(' ago', '') : '-');

export async function finish(client: MarinaClient, job: { id: string }, wait: boolean, json: boolean): Promise<void> {
  if (!wait) {
    if (json) printJson(job);
    else console.log(`Job ${job.id} queued; follow it with \`marina jobs watch ${job.id}\`.`);
    return;
  }
  const final: JobSnapshot = await watchJob(client, job.id);
  if (json) printJson(final);
  if (final.status !== 'succeeded') {
    const where = final.error?.step ? ` at step "${final.error.step}"` : '';
    throw new Error(`The job failed${where}: ${final.error?.message ?? final.status}`);
  }
  if (!json) console.log('Done.');
}

export function registerInstanceCommands(program: Command, client: () => Promise<MarinaClient>): void {
  const projects = program.command('projects').description('projects (one customer application each)');
  projects
    .command('ls')
    .description('list projects')
    .option('--org <organization>', 'only this organization')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { org?: string; json?: boolean }) => {
      const { projects: rows } = await (await client()).get<{ projects: Project[] }>('/projects', {
        organization: opts.org,
      });
      if (opts.json) return printJson(rows);
      console.log(
        table(
          rows.map((p) => ({ ...p, version: p.odooVersion })),
          ['name', 'displayName', 'version', 'id'],
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
      const { project } = await (await client()).post<{ project: Project }>('/projects', {
        organization: opts.org,
        name,
        odooVersion: opts.odoo,
        displayName: opts.displayName,
      });
      if (opts.json) return printJson(project);
      console.log(`Created project ${opts.org}/${project.name} (Odoo ${project.odooVersion}, ${project.id}).`);
    });

  const instances = program.command('instances').description('Odoo instances');
  instances
    .command('ls')
    .description('list instances')
    .option('--project <project>', 'only this project (ORGANIZATION/PROJECT or id)')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { project?: string; json?: boolean }) => {
      const c = await client();
      const project = opts.project ? await resolveProject(c, opts.project) : undefined;
      const { instances: rows } = await c.get<{ instances: Instance[] }>('/instances', { project: project?.id });
      if (opts.json) return printJson(rows);
      console.log(
        table(
          rows.map((i) => ({
            ...i,
            version: i.odooVersion,
            uptime: uptime(i.startedAt),
            size: `${i.cpus} CPU / ${i.memoryMb} MB`,
          })),
          ['name', 'stage', 'version', 'status', 'uptime', 'size', 'url', 'id'],
        ),
      );
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
          stage: string;
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
        const created = await c.post<{
          instance: Instance;
          job: { id: string };
          credentials: { url: string | null; login: string; password: string };
        }>('/instances', {
          project: project.id,
          name,
          stage: opts.stage,
          cpus,
          memoryMb,
          adminLogin: opts.adminLogin,
          language: opts.language,
          country: opts.country,
        });
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
      const { stats } = await c
        .get<{ stats: Record<string, number | boolean | null> }>(`/instances/${instance.id}/stats`)
        .catch(() => ({ stats: {} as Record<string, number | boolean | null> }));
      if (opts.json) return printJson({ instance, stats });
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
        const { job } = await c.post<{ job: { id: string } }>(`/instances/${instance.id}/${action}`, {
          confirm: opts.confirm,
        });
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
      const query = opts.confirm ? `?confirm=${encodeURIComponent(opts.confirm)}` : '';
      const { job } = await c.delete<{ job: { id: string } }>(`/instances/${instance.id}${query}`);
      await finish(c, job, opts.wait, opts.json ?? false);
    });

  const jobs = program.command('jobs').description('jobs (long operations)');
  jobs
    .command('ls')
    .description('recent jobs, newest first')
    .addOption(
      new Option('--status <status>', 'only this status').choices([
        'queued',
        'running',
        'succeeded',
        'failed',
        'cancelled',
      ]),
    )
    .option('--limit <n>', 'how many', '30')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { status?: string; limit: string; json?: boolean }) => {
      const { jobs: rows } = await (await client()).get<{
        jobs: (JobSnapshot & { createdAt: string; target: { label: string | null } | null })[];
      }>('/jobs', {
        status: opts.status,
        limit: opts.limit,
      });
      if (opts.json) return printJson(rows);
      console.log(
        table(
          rows.map((j) => ({
            id: j.id,
            kind: j.kind,
            status: j.status,
            target: j.target?.label ?? '-',
            progress: `${j.progress}%`,
            when: ago(j.createdAt),
            step: j.error?.step ?? j.step ?? '',
          })),
          ['kind', 'target', 'status', 'progress', 'step', 'when', 'id'],
        ),
      );
    });
  jobs
    .command('show <id>')
    .description('one job with its steps and log')
    .option('--json', 'print JSON for scripts')
    .action(async (id: string, opts: { json?: boolean }) => {
      const data = await (await client()).get<{
        job: JobSnapshot;
        logs: { at: string; level: string; message: string }[];
      }>(`/jobs/${encodeURIComponent(id)}`);
      if (opts.json) return printJson(data);
      const { job, logs } = data;
      console.log(`${job.kind} — ${job.status} (${job.progress}%)`);
      for (const step of job.steps)
        console.log(
          `  ${step.status === 'done' ? '✓' : step.status === 'failed' ? '✗' : step.status === 'running' ? '…' : ' '} ${step.name}`,
        );
      if (job.error) console.log(`Error${job.error.step ? ` in ${job.error.step}` : ''}: ${job.error.message}`);
      for (const line of logs) console.log(`${line.at.slice(11, 19)} ${line.level.padEnd(5)} ${line.message}`);
    });
  jobs
    .command('watch <id>')
    .description('follow a job with a progress bar until it ends')
    .option('--logs', 'print its log lines too')
    .action(async (id: string, opts: { logs?: boolean }) => {
      const c = await client();
      const final = await watchJob(c, id, { showLogs: opts.logs });
      if (final.status !== 'succeeded')
        throw new Error(`The job ${final.status}${final.error ? `: ${final.error.message}` : ''}`);
      console.log('Done.');
    });
}

interface CliLogEntry {
  id: string;
  time: string | null;
  level: string | null;
  database: string | null;
  logger: string | null;
  message: string;
  continuation: string[];
}

const levelColors: Record<string, string> = {
  DEBUG: '\x1b[90m',
  WARNING: '\x1b[33m',
  ERROR: '\x1b[31m',
  CRITICAL: '\x1b[1;31m',
};

function printEntry(entry: CliLogEntry, color: boolean): void {
  const head = entry.level
    ? `${entry.time?.replace('T', ' ').slice(0, 23) ?? ''} ${entry.level} ${entry.database ?? '?'} ${entry.logger ?? ''}: ${entry.message}`
    : entry.message;
  const text = [head, ...entry.continuation].join('\n');
  const paint = color && entry.level ? levelColors[entry.level] : undefined;
  process.stdout.write(paint ? `${paint}${text}\x1b[0m\n` : `${text}\n`);
}

export function registerLogCommand(program: Command, client: () => Promise<MarinaClient>): void {
  program
    .command('logs <instance>')
    .description('an instance\'s Odoo log (ORGANIZATION/PROJECT/INSTANCE or id; "marina" for Marina\'s own, admins)')
    .option('-f, --follow', 'keep following new lines')
    .option('--tail <n>', 'how many entries to start with (50 to 10000)', '200')
    .addOption(
      new Option('--level <level>', 'minimum level').choices(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']),
    )
    .option('--grep <text>', 'only entries containing this text')
    .option('--json', 'one JSON entry per line')
    .action(
      async (ref: string, opts: { follow?: boolean; tail: string; level?: string; grep?: string; json?: boolean }) => {
        const tail = Number(opts.tail);
        if (!Number.isInteger(tail) || tail < 50 || tail > 10_000)
          throw new CliUsageError('--tail: give a whole number from 50 to 10000.');
        const c = await client();
        const base = ref === 'marina' ? '/system/logs' : `/instances/${(await resolveInstance(c, ref)).id}/logs`;
        const query = { tail, level: opts.level, q: opts.grep };
        const color = process.stdout.isTTY === true && !opts.json;
        const show = (entry: CliLogEntry) =>
          opts.json ? process.stdout.write(`${JSON.stringify(entry)}\n`) : printEntry(entry, color);
        if (!opts.follow) {
          const { entries } = await c.get<{ entries: CliLogEntry[] }>(base, query);
          for (const entry of entries) show(entry);
          return;
        }
        const params = new URLSearchParams();
        for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of await c.stream(`${base.replace('/logs', '/logs/stream')}?${params}`)) {
          buffer += decoder.decode(chunk, { stream: true });
          let split = buffer.indexOf('\n\n');
          while (split >= 0) {
            const block = buffer.slice(0, split);
            buffer = buffer.slice(split + 2);
            split = buffer.indexOf('\n\n');
            const data = /^data: (.+)$/m.exec(block)?.[1];
            const event = /^event: (.+)$/m.exec(block)?.[1];
            if (event === 'entry' && data) show(JSON.parse(data) as CliLogEntry);
            if (event === 'state' && data && !opts.json) {
              const state = JSON.parse(data) as { container: string };
              if (state.container !== 'running')
                process.stderr.write(`-- the container is ${state.container}; waiting for it --\n`);
            }
          }
        }
      },
    );
}
