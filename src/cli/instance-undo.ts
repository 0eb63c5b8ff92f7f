import type { Command } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { Instance, Job } from './api/types.js';
import { finish } from './progress.js';
import { resolveInstance } from './resolve.js';
import { relative, wallClock } from './time.js';

/** `marina instances undo-restore`, and the undo line of `marina instances show`. */

type Undo = NonNullable<Instance['undo']>;

/** What the job that kept the data aside did, in words. */
const replacedBy: Record<string, string> = {
  'backup.restore': 'the restore replaced',
  'instance.clone': 'the clone replaced',
  'instance.undo_restore': 'the last undo swapped out',
};

/**
 * The lines `show` prints for an instance whose replaced data is kept: what put it aside (the job,
 * when known), until when, and the command that swaps it back. No lines without an undo.
 */
export function undoLines(
  undo: Undo | null | undefined,
  options: { ref: string; job?: Pick<Job, 'kind' | 'finishedAt'> | null; now?: number; timeZone?: string },
): string[] {
  if (!undo) return [];
  const what = options.job
    ? (replacedBy[options.job.kind] ?? `${options.job.kind} replaced`)
    : 'the last restore replaced';
  const when = options.job?.finishedAt ? ` (${wallClock(options.job.finishedAt, options.timeZone)})` : '';
  return [
    `  Undo:       the data ${what}${when} is kept until ${wallClock(undo.until, options.timeZone)} (${relative(undo.until, options.now)}) — job ${undo.operationId}`,
    `              swap it back: marina instances undo-restore ${options.ref}`,
  ];
}

/** The job an undo names, or null when it cannot be read (the line then says less). */
export async function undoJob(c: MarinaClient, undo: Undo | null): Promise<Job | null> {
  if (!undo) return null;
  return c
    .call(c.api.GET('/api/v1/jobs/{id}', { params: { path: { id: undo.operationId } } }))
    .then((answer) => answer.job)
    .catch(() => null);
}

export function registerInstanceUndoCommand(instances: Command, client: () => Promise<MarinaClient>): void {
  instances
    .command('undo-restore <instance>')
    .description(
      'swap back the data the last restore or clone over the instance replaced; the current data is kept as the undo in turn (production: --confirm NAME)',
    )
    .option('--confirm <name>', 'the instance name, for production instances')
    .option('--no-wait', 'return at once instead of following the job')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { confirm?: string; wait: boolean; json?: boolean }) => {
      const c = await client();
      const instance = await resolveInstance(c, ref);
      const { job } = await c.call(
        c.api.POST('/api/v1/instances/{id}/undo-restore', {
          params: { path: { id: instance.id } },
          body: opts.confirm ? { confirm: opts.confirm } : {},
        }),
      );
      if (!opts.json && opts.wait) console.log(`Undoing the restore of ${instance.name} — job ${job.id}`);
      await finish(c, job, opts.wait, opts.json ?? false);
    });
}
