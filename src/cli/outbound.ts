import type { Command } from 'commander';
import type { MarinaClient } from './api/client.js';
import { printJson } from './output.js';

/** `marina outbound`: which internal address ranges destinations and repositories may reach (platform admins). */
export function registerOutboundCommands(program: Command, client: () => Promise<MarinaClient>): void {
  program
    .command('outbound')
    .description(
      'show or set the internal address ranges (CIDR) S3 endpoints, SFTP hosts and git remotes may use (platform admins)',
    )
    .option('--allow <cidr...>', 'replace the allowed ranges with these, e.g. 10.20.0.0/16 fd00:1::/64')
    .option('--clear', 'allow no internal range')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { allow?: string[]; clear?: boolean; json?: boolean }) => {
      const c = await client();
      const change = opts.clear ? [] : opts.allow;
      const { outbound } = await c.call(
        change === undefined
          ? c.api.GET('/api/v1/settings/outbound')
          : c.api.PUT('/api/v1/settings/outbound', { body: { allowedRanges: change } }),
      );
      if (opts.json) printJson(outbound);
      else if (outbound.allowedRanges.length === 0) console.log('No internal range is allowed.');
      else console.log(`Allowed internal ranges: ${outbound.allowedRanges.join(', ')}`);
    });
}
