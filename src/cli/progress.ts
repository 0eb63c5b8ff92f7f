import type { MarinaClient } from './client.js';

export interface JobSnapshot {
  id: string;
  kind: string;
  status: string;
  progress: number;
  step: string | null;
  steps: { name: string; status: string }[];
  error: { code: string; message: string; step: string | null } | null;
  result: Record<string, unknown> | null;
}

const WIDTH = 30;

export function renderBar(job: Pick<JobSnapshot, 'progress' | 'step' | 'status'>): string {
  const filled = Math.round((Math.max(0, Math.min(100, job.progress)) / 100) * WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(job.progress).padStart(3)}% ${job.step ?? job.status}`;
}

/**
 * Follows a job's event stream until it ends: a redrawn progress bar in a terminal, one line per
 * step otherwise (logs, CI). Returns the final job.
 */
export async function watchJob(
  client: MarinaClient,
  jobId: string,
  options: { showLogs?: boolean } = {},
): Promise<JobSnapshot> {
  const tty = process.stderr.isTTY === true;
  const response = await client.stream(`/jobs/${encodeURIComponent(jobId)}/events`);
  const decoder = new TextDecoder();
  let buffer = '';
  let last: JobSnapshot | undefined;
  let lastStep: string | null = null;
  const draw = (job: JobSnapshot) => {
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
        last = JSON.parse(data) as JobSnapshot;
        draw(last);
      } else if (event === 'log' && options.showLogs) {
        const line = JSON.parse(data) as { message: string };
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
