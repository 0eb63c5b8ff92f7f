import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { ModuleChange, ModulePlan } from './api/types.js';
import { CliUsageError } from './errors.js';
import { printJson, table } from './output.js';
import { followJobs } from './progress.js';
import { resolveInstance } from './resolve.js';

/** The Odoo modules of an instance: `marina modules …`. */

/** What a command asks for; the confirmation and the dry run are added by `apply`. */
type Change = Pick<ModuleChange, 'install' | 'upgrade' | 'uninstall' | 'updateList'>;

const MODULE_NAME = /^[a-z0-9_]{1,100}$/;

function planLines(plan: ModulePlan): string[] {
  const lines: string[] = [];
  if (plan.updateList) lines.push('  update the apps list');
  if (plan.install.length) lines.push(`  install:    ${plan.install.join(', ')}`);
  if (plan.upgrade.length) lines.push(`  upgrade:    ${plan.upgrade.join(', ')}`);
  if (plan.uninstall.length) lines.push(`  uninstall:  ${plan.uninstall.join(', ')}`);
  if (plan.alsoUninstalled.length)
    lines.push(`  also uninstalled (they depend on these): ${plan.alsoUninstalled.join(', ')}`);
  return lines;
}

/** One line typed on the terminal (not a secret: it is echoed). */
async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
  rl.close();
  return answer.trim();
}

interface ApplyOptions {
  yes?: boolean;
  confirm?: string;
  updateList?: boolean;
  wait: boolean;
  json?: boolean;
}

/** Shows the plan (a dry run), asks, then starts the job and follows it. */
async function apply(c: MarinaClient, ref: string, change: Change, opts: ApplyOptions): Promise<void> {
  const instance = await resolveInstance(c, ref);
  const send = (body: ModuleChange) =>
    c.call(c.api.POST('/api/v1/instances/{id}/modules', { params: { path: { id: instance.id } }, body }));
  const { plan } = await send({ ...change, dryRun: true });
  if (!opts.json) {
    console.log(`On ${instance.name} (${instance.stage}), with a safety backup of the database first:`);
    for (const line of planLines(plan)) console.log(line);
    console.log('  Odoo restarts meanwhile.');
  }
  const removing = plan.uninstall.length > 0;
  let confirm = opts.confirm;
  if (removing && instance.stage === 'production') {
    // Uninstalling deletes the modules' data: production takes its name typed out.
    if (confirm === undefined) {
      if (!process.stdin.isTTY)
        throw new CliUsageError(
          `${instance.name} is a production instance: pass --confirm ${instance.name} to uninstall there.`,
        );
      confirm = await ask(
        `Uninstalling deletes the modules' data. Type the instance name (${instance.name}) to go ahead: `,
      );
    }
    if (confirm !== instance.name)
      throw new CliUsageError(`"${confirm}" is not ${instance.name}: nothing was changed.`);
  } else if (!opts.yes) {
    const { confirm: yesNo } = await import('./prompt.js');
    if (!(await yesNo('Go ahead?')))
      throw new CliUsageError('Nothing was changed (pass --yes when there is no terminal to ask on).');
  }
  const { job } = await send({ ...change, confirm });
  if (!job) throw new Error('Marina started no job for this change.');
  if (!opts.wait) {
    if (opts.json) return printJson({ plan, job });
    console.log(`Job ${job.id} queued; follow it with \`marina jobs watch ${job.id}\`.`);
    return;
  }
  const [final] = await followJobs(c, [job]);
  if (opts.json) printJson({ plan, job: final });
  if (final?.status !== 'succeeded') {
    const where = final?.error?.step ? ` at step "${final.error.step}"` : '';
    throw new Error(`The module job failed${where} (its error is above).`);
  }
  if (opts.json) return;
  const done: string[] = [];
  if (plan.install.length) done.push(`installed ${plan.install.join(', ')}`);
  if (plan.upgrade.length) done.push(`upgraded ${plan.upgrade.join(', ')}`);
  if (plan.uninstall.length) done.push(`uninstalled ${[...plan.uninstall, ...plan.alsoUninstalled].join(', ')}`);
  if (plan.updateList) done.push('updated the apps list');
  console.log(`Done: ${done.join('; ')}.`);
}

function moduleNames(names: string[]): string[] {
  const bad = names.filter((n) => !MODULE_NAME.test(n));
  if (bad.length > 0)
    throw new CliUsageError(
      `Not a module name: ${bad.map((n) => `"${n}"`).join(', ')} (technical names: lowercase letters, digits and "_", e.g. sale_management).`,
    );
  return [...new Set(names)];
}

function applyCommand(command: Command): Command {
  return command
    .option('-y, --yes', 'do not ask')
    .option('--confirm <name>', 'the instance name, to uninstall on a production instance')
    .option('--no-wait', 'return once the job is queued')
    .option('--json', 'print JSON for scripts');
}

export function registerModuleCommands(program: Command, client: () => Promise<MarinaClient>): void {
  const modules = program.command('modules').description("an instance's Odoo modules");

  modules
    .command('ls <instance>')
    .description("an instance's modules, read from its database (ORGANIZATION/PROJECT/INSTANCE or id)")
    .option('--search <text>', 'only modules whose name, title, summary or author contains this')
    .option(
      '--state <state>',
      'only this state: installed, uninstalled, available (in a repository, not yet listed), …',
    )
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { search?: string; state?: string; json?: boolean }) => {
      const c = await client();
      const instance = await resolveInstance(c, ref);
      const { modules: rows } = await c.call(
        c.api.GET('/api/v1/instances/{id}/modules', {
          params: { path: { id: instance.id }, query: { search: opts.search, state: opts.state } },
        }),
      );
      if (opts.json) return printJson(rows);
      console.log(
        table(
          rows.map((m) => ({
            name: m.name,
            state: m.state,
            installed: m.installedVersion,
            available: m.availableVersion,
            repository: m.repository,
            title: m.title,
          })),
          ['name', 'state', 'installed', 'available', 'repository', 'title'],
        ),
      );
    });

  for (const action of ['install', 'upgrade', 'uninstall'] as const) {
    const command = modules
      .command(`${action} <instance> <modules...>`)
      .description(
        `${action} modules in one job, with a safety backup; the plan is shown first${action === 'uninstall' ? ' (with the modules that depend on them; production: --confirm NAME)' : ''}`,
      );
    if (action === 'install') command.option('--update-list', 'update the apps list first');
    applyCommand(command).action(async (ref: string, names: string[], opts: ApplyOptions) => {
      const list = moduleNames(names);
      const c = await client();
      await apply(c, ref, { [action]: list, ...(opts.updateList ? { updateList: true } : {}) }, opts);
    });
  }

  applyCommand(
    modules
      .command('update-list <instance>')
      .description('update the apps list: Odoo reads the addons folders again (new modules appear)'),
  ).action(async (ref: string, opts: ApplyOptions) => {
    const c = await client();
    await apply(c, ref, { updateList: true }, opts);
  });
}
