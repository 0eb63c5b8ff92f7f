import type { MarinaClient } from './api/client.js';
import type { Job, JobLogLine, StartedJob } from './api/types.js';
import { printJson } from './output.js';

const WIDTH = 30;

export function renderBar(job: Pick<Job, 'progress' | 'step' | 'status'>): string {
  const filled = Math.round((Math.max(0, Math.min(100, job.progress)) / 100) * WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(job.progress).padStart(3)}% ${job.step ?? job.status}`;
}

/**
 * Follows a job's event stream until it ends: a redrawn progress bar in a terminal, one line per
 * step otherwise (logs, CI). Returns the final job.
 */
export async function watchJob(c: MarinaClient, jobId: string, options: { showLogs?: boolean } = {}): Promise<Job> {
  const tty = process.stderr.isTTY === true;
  const response = await c.stream('/api/v1/jobs/{id}/events', { path: { id: jobId } });
  const decoder = new TextDecoder();
  let buffer = '';
  let last: Job | undefined;
  let lastStep: string | null = null;
  const draw = (job: Job) => {
    if (tty) process.stderr.write(`\r\x1b[2K${renderBar(job)}`);
    else if (job.step !== lastStep && job.step) process.stderr.write(`${renderBar(job)}\n`);
    lastStep = job.step;
  };
  for await (const chunk of response) {
    buffer += decoder.decode(chunk, { stream: true });
    let split = buffer.indexOf('\n\n');
    while (split >= 0) {
      const block = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      split = buffer.indexOf('\n\n');
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (!event || !data) continue;
      if (event === 'job') {
        last = JSON.parse(data) as Job;
        draw(last);
      } else if (event === 'log' && options.showLogs) {
        const line = JSON.parse(data) as JobLogLine;
        process.stderr.write(`${tty ? '\r\x1b[2K' : ''}${line.message}\n`);
        if (last && tty) draw(last);
      } else if (event === 'end') {
        if (!last) throw new Error('the job ended without telling its state');
        // A terminal keeps the bar's last state; a log gets it as its final line.
        process.stderr.write(tty ? '\n' : `${renderBar(last)}\n`);
        return last;
      }
    }
  }
  if (tty) process.stderr.write('\n');
  if (!last) throw new Error('the job stream closed early');
  return last;
}

/** Says how to follow a queued job, or follows it to its end; a job that did not succeed is an error. */
export async function finish(c: MarinaClient, job: { id: string }, wait: boolean, json: boolean): Promise<void> {
  if (!wait) {
    if (json) printJson(job);
    else console.log(`Job ${job.id} queued; follow it with \`marina jobs watch ${job.id}\`.`);
    return;
  }
  const final = await watchJob(c, job.id);
  if (json) printJson(final);
  if (final.status !== 'succeeded') {
    const where = final.error?.step ? ` at step "${final.error.step}"` : '';
    throw new Error(`The job failed${where}: ${final.error?.message ?? final.status}`);
  }
  if (!json) console.log('Done.');
}

export const jobLabel = (job: Pick<StartedJob, 'id' | 'target'>) => job.target?.label ?? job.target?.id ?? job.id;

export const indent = (text: string, by = '  ') =>
  text
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n');

/**
 * Follows jobs one after the other with a progress bar each; returns them finished. A job that
 * failed is said on standard error, with its whole message (Odoo's error lines, the rollback).
 */
export async function followJobs(
  c: MarinaClient,
  jobs: StartedJob[],
  report: (job: StartedJob, final: Job) => void = () => {},
): Promise<Job[]> {
  const finals: Job[] = [];
  for (const job of jobs) {
    if (jobs.length > 1) process.stderr.write(`${jobLabel(job)}:\n`);
    const final = await watchJob(c, job.id);
    finals.push(final);
    if (final.status === 'succeeded') report(job, final);
    else {
      const where = final.error?.step ? ` at step "${final.error.step}"` : '';
      process.stderr.write(
        `${jobLabel(job)}: the job ${final.status}${where}:\n${indent(final.error?.message ?? final.status)}\n`,
      );
    }
  }
  return finals;
}
