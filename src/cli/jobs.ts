import { type Command, Option } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { JobStatus } from './api/types.js';
import { ago, printJson, table } from './output.js';
import { watchJob } from './progress.js';

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
    .option('--limit <n>', 'how many', '30')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { status?: JobStatus; limit: string; json?: boolean }) => {
      const c = await client();
      const { jobs: rows } = await c.call(
        c.api.GET('/api/v1/jobs', { params: { query: { status: opts.status, limit: Number(opts.limit) } } }),
      );
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
