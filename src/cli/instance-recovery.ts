import type { Command } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { Instance, Json } from './api/types.js';
import { CliError, CliUsageError, exitCodes } from './errors.js';
import { ago, printJson, size } from './output.js';
import { finish } from './progress.js';
import { resolveInstance, UUID } from './resolve.js';
import { duration, wallClock } from './time.js';

/** `marina instances recovery` and `marina instances recover`: an instance of a lost cluster node, elsewhere. */

export type RecoveryPreview = Json<'/api/v1/instances/{id}/recovery', 'get'>['recovery'];

/**
 * What `recovery` prints: the node and since when it is in its state, the backup the instance would
 * be recovered from, the work after it that would be lost, and the command that does it; or why it
 * cannot be recovered.
 */
export function recoveryLines(
  preview: RecoveryPreview,
  options: { instance: Pick<Instance, 'name' | 'stage'>; ref: string; timeZone?: string },
): string[] {
  const { node, backup } = preview;
  const since = node.since ? ` since ${wallClock(node.since, options.timeZone)} (${ago(node.since)})` : '';
  const lines = [
    preview.possible
      ? `${options.instance.name} can be recovered on another node from its latest backup.`
      : `${options.instance.name} cannot be recovered on another node: ${preview.reason ?? 'no reason given'}`,
    `  Node:       ${node.id}, ${node.state ?? 'state unknown'}${since}`,
    backup
      ? `  Backup:     ${wallClock(backup.takenAt, options.timeZone)}${backup.sizeBytes === null ? '' : `, ${size(backup.sizeBytes)}`} — ${backup.id}`
      : '  Backup:     none completed',
  ];
  if (backup && preview.dataLossSeconds !== null)
    lines.push(
      `  Lost:       the changes made after that backup (${duration(preview.dataLossSeconds * 1000)} of them)`,
    );
  if (preview.possible) {
    const confirm = options.instance.stage === 'production' ? ` --confirm ${options.instance.name}` : '';
    lines.push(`  Recover:    marina instances recover ${options.ref}${confirm}`);
  }
  return lines;
}

export function registerInstanceRecoveryCommands(instances: Command, client: () => Promise<MarinaClient>): void {
  instances
    .command('recovery <instance>')
    .description(
      'whether an instance of a lost cluster node can be recovered on another node, from which backup, and what would be lost (platform admins)',
    )
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const c = await client();
      const instance = await resolveInstance(c, ref);
      const { recovery } = await c.call(
        c.api.GET('/api/v1/instances/{id}/recovery', { params: { path: { id: instance.id } } }),
      );
      if (opts.json) printJson(recovery);
      else for (const line of recoveryLines(recovery, { instance, ref })) console.log(line);
      // Scripts can tell: an instance that cannot be recovered is exit code 1.
      if (!recovery.possible) throw new CliError('It cannot be recovered on another node now.', exitCodes.error);
    });

  instances
    .command('recover <instance>')
    .description(
      'recover an instance of a lost cluster node on another node from its latest backup; what was changed after it is lost (platform admins; production: --confirm NAME)',
    )
    .option('--backup <id>', 'recover from this completed backup of the instance instead of the latest')
    .option('--confirm <name>', 'the instance name, for production instances')
    .option('--no-wait', 'return at once instead of following the job')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { backup?: string; confirm?: string; wait: boolean; json?: boolean }) => {
      if (opts.backup !== undefined && !UUID.test(opts.backup))
        throw new CliUsageError(
          `--backup: "${opts.backup}" is not a backup id (see \`marina backups ls <instance>\`).`,
        );
      const c = await client();
      const instance = await resolveInstance(c, ref);
      const { job, node } = await c.call(
        c.api.POST('/api/v1/instances/{id}/recover', {
          params: { path: { id: instance.id } },
          body: { confirm: opts.confirm, backupId: opts.backup?.toLowerCase() },
        }),
      );
      if (!opts.json) console.log(`Recovering ${instance.name} on node ${node} — job ${job.id}`);
      await finish(c, job, opts.wait, opts.json ?? false);
    });
}
