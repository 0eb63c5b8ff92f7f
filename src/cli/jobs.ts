import { type Command, Option } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { JobStatus } from './api/types.js';
import { ago, printJson, table } from './output.js';
import { watchJob } from './progress.js';
import { resolveInstance } from './resolve.js';

/** "30m", "24h", "7d", or a date and time: the start of a time filter. */
export function parseSince(value: string, now = Date.now()): string {
  const span = /^(\d{1,4})([mhd])$/.exec(value);
  if (span) {
    const minutes = { m: 1, h: 60, d: 1440 }[span[2] as 'm' | 'h' | 'd'] * Number(span[1]);
    return new Date(now - minutes * 60_000).toISOString();
  }
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw new Error(
      `"${value}" is not a time: give a span such as 30m, 24h or 7d, or a date such as 2026-12-01T08:00Z.`,
    );
  return at.toISOString();
}

/** Jobs, Marina's long operations: `marina jobs …`. */
export function registerJobCommands(program: Command, client: () => Promise<MarinaClient>): void {
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
    .option('--kind <kind>', 'only this kind (instance.start, backup.create…)')
    .option('--instance <ref>', 'only jobs on this instance (id or org/project/instance)')
    .option('--since <when>', 'created since: a span (30m, 24h, 7d) or a date and time')
    .option('--until <when>', 'created before: a span ago or a date and time')
    .option('--limit <n>', 'how many', '30')
    .option('--json', 'print JSON for scripts')
    .action(
      async (opts: {
        status?: JobStatus;
        kind?: string;
        instance?: string;
        since?: string;
        until?: string;
        limit: string;
        json?: boolean;
      }) => {
        const c = await client();
        const target = opts.instance ? (await resolveInstance(c, opts.instance)).id : undefined;
        const query = {
          status: opts.status,
          kind: opts.kind,
          target,
          since: opts.since ? parseSince(opts.since) : undefined,
          until: opts.until ? parseSince(opts.until) : undefined,
          limit: Number(opts.limit),
        };
        const { jobs: rows } = await c.call(c.api.GET('/api/v1/jobs', { params: { query } }));
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
      },
    );
  jobs
    .command('cancel <id>')
    .description('cancel a queued job, or an upload waiting to try again')
    .option('--json', 'print JSON for scripts')
    .action(async (id: string, opts: { json?: boolean }) => {
      const c = await client();
      const { job } = await c.call(c.api.POST('/api/v1/jobs/{id}/cancel', { params: { path: { id } } }));
      if (opts.json) return printJson(job);
      console.log(`${job.kind} — ${job.status}${job.error ? `: ${job.error.message}` : ''}`);
    });
  jobs
    .command('retry <id>')
    .description('queue a failed or cancelled job again with the same input')
    .option('--watch', 'follow the new job until it ends')
    .option('--json', 'print JSON for scripts')
    .action(async (id: string, opts: { watch?: boolean; json?: boolean }) => {
      const c = await client();
      const { job } = await c.call(c.api.POST('/api/v1/jobs/{id}/retry', { params: { path: { id } } }));
      if (opts.json) return printJson(job);
      console.log(`Queued ${job.kind} again: job ${job.id}.`);
      if (!opts.watch) return;
      const final = await watchJob(c, job.id);
      if (final.status !== 'succeeded')
        throw new Error(`The job ${final.status}${final.error ? `: ${final.error.message}` : ''}`);
      console.log('Done.');
    });
  jobs
    .command('show <id>')
    .description('one job with its steps and log')
    .option('--json', 'print JSON for scripts')
    .action(async (id: string, opts: { json?: boolean }) => {
      const c = await client();
      const data = await c.call(c.api.GET('/api/v1/jobs/{id}', { params: { path: { id } } }));
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
