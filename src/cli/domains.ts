import type { Command } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { Json } from './api/types.js';
import { CliUsageError } from './errors.js';
import { printJson, table } from './output.js';
import { resolveInstance, UUID } from './resolve.js';

/** Custom domains of instances: `marina domains …`. */

type Domain = Json<'/api/v1/domains/{id}/verify', 'post'>['domain'];

function requireId(ref: string): string {
  if (!UUID.test(ref)) throw new CliUsageError(`"${ref}" is not a domain id (see \`marina domains ls INSTANCE\`).`);
  return ref;
}

/** What to create in DNS, and what DNS answered at the last check: side by side, as the page shows it. */
function printDomain(domain: Domain): void {
  console.log(`${domain.displayName} (${domain.hostname}): ${domain.status}${domain.isPrimary ? ', primary' : ''}`);
  console.log('Records to create:');
  console.log(table(domain.records, ['type', 'name', 'value']));
  if (domain.found) {
    console.log(`Found at ${domain.found.checkedAt}:`);
    console.log(
      domain.found.records.length > 0 ? table(domain.found.records, ['type', 'name', 'value']) : '  (nothing)',
    );
    if (domain.found.error) console.log(`DNS error: ${domain.found.error}`);
  }
  if (domain.lastError) console.log(domain.lastError);
  if (domain.nextCheckAt) console.log(`Next automatic check: ${domain.nextCheckAt}`);
}

export function registerDomainCommands(program: Command, client: () => Promise<MarinaClient>): void {
  const domains = program.command('domains').description('custom domains of instances');

  domains
    .command('ls <instance>')
    .description("an instance's platform name and custom domains (ORGANIZATION/PROJECT/INSTANCE or id)")
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const c = await client();
      const instance = await resolveInstance(c, ref);
      const answer = await c.call(
        c.api.GET('/api/v1/instances/{id}/domains', { params: { path: { id: instance.id } } }),
      );
      if (opts.json) return printJson(answer);
      if (answer.platform) console.log(`Platform name: ${answer.platform.hostname} (${answer.platform.url})`);
      console.log(
        table(
          answer.domains.map((d) => ({
            name: d.displayName,
            method: d.method,
            status: d.status,
            primary: d.isPrimary ? 'yes' : '',
            id: d.id,
          })),
          ['name', 'method', 'status', 'primary', 'id'],
        ),
      );
    });

  domains
    .command('add <instance> <hostname>')
    .description('add a custom domain; prints the DNS records to create')
    .option('--method <method>', 'cname, txt or apex (default: apex for example.com, else cname)')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, hostname: string, opts: { method?: string; json?: boolean }) => {
      const c = await client();
      const instance = await resolveInstance(c, ref);
      if (opts.method && !['cname', 'txt', 'apex'].includes(opts.method))
        throw new CliUsageError('--method must be cname, txt or apex.');
      const { domain } = await c.call(
        c.api.POST('/api/v1/instances/{id}/domains', {
          params: { path: { id: instance.id } },
          body: { hostname, ...(opts.method ? { method: opts.method as 'cname' | 'txt' | 'apex' } : {}) },
        }),
      );
      if (opts.json) return printJson(domain);
      printDomain(domain);
    });

  domains
    .command('verify <domain>')
    .description('check the DNS records of a domain now (its id)')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const c = await client();
      const { domain } = await c.call(
        c.api.POST('/api/v1/domains/{id}/verify', { params: { path: { id: requireId(ref) } } }),
      );
      if (opts.json) return printJson(domain);
      printDomain(domain);
    });

  domains
    .command('primary <domain>')
    .description("make a verified domain the instance's primary name (its id)")
    .action(async (ref: string) => {
      const c = await client();
      const { domain } = await c.call(
        c.api.POST('/api/v1/domains/{id}/primary', { params: { path: { id: requireId(ref) } } }),
      );
      console.log(`${domain.displayName} is now the primary name.`);
    });

  domains
    .command('rm <domain>')
    .description('remove a custom domain (its id)')
    .action(async (ref: string) => {
      const c = await client();
      await c.call(c.api.DELETE('/api/v1/domains/{id}', { params: { path: { id: requireId(ref) } } }));
      console.log('Removed.');
    });
}
