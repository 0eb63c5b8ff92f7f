import type { Command } from 'commander';
import type { MarinaClient } from './api/client.js';
import { CliUsageError } from './errors.js';
import { organizationId } from './offsite/lookup.js';
import { printJson, table } from './output.js';
import { jsonOption } from './secret-options.js';

interface SubscriptionState {
  organizationId: string;
  status: string;
  trialEndsAt: string | null;
  suspendedKind: string | null;
  graceEndsAt: string | null;
}

function say(org: string, s: SubscriptionState): void {
  const parts = [`${org}: ${s.status}`];
  if (s.status === 'trialing' && s.trialEndsAt) parts.push(`trial ends ${s.trialEndsAt}`);
  if (s.status === 'suspended')
    parts.push(`(${s.suspendedKind ?? 'suspended'}; instances deleted after ${s.graceEndsAt})`);
  console.log(parts.join(' '));
}

/**
 * The operator's subscription actions (platform admins): `marina orgs suspend|resume|extend-trial|convert`,
 * and `marina customers` (the overview). Added to the `orgs` command made by accounts.ts.
 */
export function registerCustomerCommands(program: Command, client: () => Promise<MarinaClient>): void {
  const orgs = program.commands.find((c) => c.name() === 'orgs') ?? program.command('orgs');
  orgs
    .command('suspend <org>')
    .description('suspend an organization: its instances stop, its sites say so (platform admins)')
    .requiredOption('--reason <text>', 'why (kept for operators; never shown on the sites)')
    .addOption(jsonOption())
    .action(async (org: string, opts: { reason: string; json?: boolean }) => {
      const c = await client();
      const id = await organizationId(c, org);
      const { subscription } = await c.call(
        c.api.POST('/api/v1/organizations/{id}/subscription/suspend', {
          params: { path: { id } },
          body: { reason: opts.reason },
        }),
      );
      if (opts.json) return printJson(subscription);
      say(org, subscription);
    });
  orgs
    .command('resume <org>')
    .description('resume a suspended organization: the instances that ran start again (platform admins)')
    .addOption(jsonOption())
    .action(async (org: string, opts: { json?: boolean }) => {
      const c = await client();
      const id = await organizationId(c, org);
      const { subscription } = await c.call(
        c.api.POST('/api/v1/organizations/{id}/subscription/resume', { params: { path: { id } }, body: {} }),
      );
      if (opts.json) return printJson(subscription);
      say(org, subscription);
    });
  orgs
    .command('extend-trial <org>')
    .description('extend the trial; one that had ended resumes (platform admins)')
    .requiredOption('--days <n>', 'days to add (1–365)')
    .addOption(jsonOption())
    .action(async (org: string, opts: { days: string; json?: boolean }) => {
      const days = Number(opts.days);
      if (!Number.isInteger(days) || days < 1 || days > 365)
        throw new CliUsageError('--days is a whole number from 1 to 365.');
      const c = await client();
      const id = await organizationId(c, org);
      const { subscription } = await c.call(
        c.api.POST('/api/v1/organizations/{id}/subscription/extend-trial', {
          params: { path: { id } },
          body: { days },
        }),
      );
      if (opts.json) return printJson(subscription);
      say(org, subscription);
    });
  orgs
    .command('convert <org>')
    .description('convert the trial to a paid subscription now (platform admins)')
    .addOption(jsonOption())
    .action(async (org: string, opts: { json?: boolean }) => {
      const c = await client();
      const id = await organizationId(c, org);
      const { subscription } = await c.call(
        c.api.POST('/api/v1/organizations/{id}/subscription/convert', { params: { path: { id } }, body: {} }),
      );
      if (opts.json) return printJson(subscription);
      say(org, subscription);
    });
  program
    .command('customers')
    .description('every organization with its plan, status, instances and storage (platform admins)')
    .option('--q <text>', 'organizations whose slug or name contains this')
    .option('--status <status>', 'trialing, active, past_due, suspended, cancelled or none')
    .addOption(jsonOption())
    .action(async (opts: { q?: string; status?: string; json?: boolean }) => {
      const c = await client();
      const statuses = ['trialing', 'active', 'past_due', 'suspended', 'cancelled', 'none'] as const;
      const status = statuses.find((s) => s === opts.status);
      if (opts.status && !status) throw new CliUsageError(`--status is one of ${statuses.join(', ')}.`);
      const overview = await c.call(c.api.GET('/api/v1/admin/customers', { params: { query: { q: opts.q, status } } }));
      if (opts.json) return printJson(overview);
      console.log(
        table(
          overview.rows.map((r) => ({
            organization: r.organization.slug,
            plan: r.plan?.name ?? '',
            status: r.status ?? 'none',
            trialEnds: r.trialEndsAt ?? '',
            instances: r.instances,
            storageMb: Math.round(r.storageBytes / 1048576),
          })),
          ['organization', 'plan', 'status', 'trialEnds', 'instances', 'storageMb'],
        ),
      );
    });
}
