import type { Command } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { Job } from './api/types.js';
import { CliUsageError } from './errors.js';
import { printJson } from './output.js';
import { watchJob } from './progress.js';
import { resolveInstance } from './resolve.js';

/** `marina instances move`: an instance to another node of the cluster (#16). */

/** As the server takes a node id (src/modules/backups/move.ts): checked before Marina is asked. */
const NODE_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** "4.2 s", "1 min 12 s": how long a move kept the instance down. */
export function downtime(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

/** What a succeeded move job's result says: "moved from node1 to node2, down for 4.2 s". */
export function moveResult(job: Pick<Job, 'result'>): string {
  const { from, to, downtimeMs } = (job.result ?? {}) as { from?: string; to?: string; downtimeMs?: number };
  const where = from && to ? `moved from ${from} to ${to}` : to ? `moved to ${to}` : 'moved';
  return typeof downtimeMs === 'number' ? `${where}, down for ${downtime(downtimeMs)}` : where;
}

/** A job that did not succeed, as an error naming its step. */
export function jobFailure(job: Job): Error {
  const where = job.error?.step ? ` at step "${job.error.step}"` : '';
  return new Error(`The move ${job.status}${where}: ${job.error?.message ?? job.status}`);
}

export function registerInstanceMoveCommand(instances: Command, client: () => Promise<MarinaClient>): void {
  instances
    .command('move <instance>')
    .description(
      'move an instance to another cluster node: copied while it serves, then down while its database is copied and it starts there (platform admins; production: --confirm NAME)',
    )
    .option('--to <node>', 'the node to move it to (default: where placement puts it)')
    .option('--confirm <name>', 'the instance name, for production instances')
    .option('--no-wait', 'return at once instead of following the job')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { to?: string; confirm?: string; wait: boolean; json?: boolean }) => {
      if (opts.to !== undefined && !NODE_ID.test(opts.to))
        throw new CliUsageError(`--to: "${opts.to}" is not a node (see \`marina nodes ls\`).`);
      const c = await client();
      const instance = await resolveInstance(c, ref);
      const { job, node } = await c.call(
        c.api.POST('/api/v1/instances/{id}/move', {
          params: { path: { id: instance.id } },
          body: { to: opts.to, confirm: opts.confirm },
        }),
      );
      if (!opts.json) console.log(`Moving ${instance.name} from ${instance.hostId} to ${node} — job ${job.id}`);
      if (!opts.wait) {
        if (opts.json) printJson(job);
        else console.log(`Job ${job.id} queued; follow it with \`marina jobs watch ${job.id}\`.`);
        return;
      }
      const final = await watchJob(c, job.id);
      if (opts.json) printJson(final);
      if (final.status !== 'succeeded') throw jobFailure(final);
      if (!opts.json) console.log(`${instance.name} ${moveResult(final)}.`);
    });
}
