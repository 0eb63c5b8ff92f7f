import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Static } from 'typebox';
import { Type } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Instance } from '../../db/schema.js';
import { adaptVersion, MODULE_NAME, scanAddons } from '../../odoo/addons.js';
import { downstreamDependencies, listModules, moduleCommand, moduleOutcomeProblems } from '../../odoo/modules.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { defineJob, planJob } from '../../platform/jobs/define.js';
import type { OperationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import { invalid } from '../../platform/validation.js';
import { restoreDatabaseInPlace, safetyBackup, safetyBackupMemory } from '../backups/jobs.js';
import { ensureServer, healthy } from '../instances/jobs.js';
import { ODOO_CONF_DIR } from '../instances/odoo-container.js';
import { onInstanceDatabase, runOdoo } from '../instances/odoo-runs.js';
import type { InstanceService } from '../instances/service.js';
import { type ModulePlan, modulesJob } from './job-specs.js';
import type { RepositoryService } from './repositories.js';
import type { RepositoryJobDeps } from './repository-jobs.js';
import type { Module } from './schemas.js';

/** A module of an instance, from its database and its checkouts (the `Module` schema). */
export type ModuleView = Static<typeof Module>;

export interface ModuleChange {
  install?: unknown;
  upgrade?: unknown;
  uninstall?: unknown;
  updateList?: unknown;
  dryRun?: unknown;
  confirm?: unknown;
}

export type { ModulePlan } from './job-specs.js';

function names(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 200) throw invalid(field, `${field} must be a list of module names.`);
  for (const name of value) {
    if (typeof name !== 'string' || name.length > 100 || !MODULE_NAME.test(name))
      throw invalid(field, `"${String(name).slice(0, 60)}" is not a module name (lowercase letters, digits, "_").`);
  }
  return [...new Set(value as string[])].sort();
}

export interface ModuleServiceDeps {
  db: Db;
  instances: InstanceService;
  repositories: RepositoryService;
  jobDeps: RepositoryJobDeps;
}

/** The modules of an instance, read from its database, and the batch jobs that change them. */
export class ModuleService {
  constructor(private readonly deps: ModuleServiceDeps) {}

  /** Versions of the addons in the instance's checkouts, by module name. */
  private async available(instance: Instance): Promise<Map<string, { version: string | null; repository: string }>> {
    const found = new Map<string, { version: string | null; repository: string }>();
    const series = instance.odoo_version;
    for (const repo of await this.deps.repositories.repositoriesOfProject(instance.project_id)) {
      const dir = this.deps.repositories.checkoutDir(instance.id, repo.name);
      const root = repo.subfolder ? join(dir, repo.subfolder) : dir;
      if (!existsSync(join(dir, '.git')) || !existsSync(root)) continue;
      const scan = await scanAddons(root);
      for (const addon of scan.addons) {
        found.set(addon.name, {
          version: addon.version ? adaptVersion(series, addon.version) : null,
          repository: repo.name,
        });
      }
    }
    return found;
  }

  async list(
    actor: Actor,
    instanceId: string,
    filter: { search?: string; state?: string } = {},
  ): Promise<ModuleView[]> {
    const instance = await this.deps.instances.get(actor, instanceId);
    if (!instance.database_server_id || instance.status === 'provisioning')
      throw new MarinaError('MARINA_E_NO_DATABASE', 'The instance has no database yet.');
    const rows = await onInstanceDatabase(this.deps.jobDeps, instance, (c) => listModules(c));
    const available = await this.available(instance);
    const views: ModuleView[] = rows.map((m) => ({
      name: m.name,
      title: m.shortdesc,
      state: m.state,
      installedVersion: m.installedVersion,
      availableVersion: available.get(m.name)?.version ?? null,
      summary: m.summary,
      author: m.author,
      application: m.application,
      repository: available.get(m.name)?.repository ?? null,
    }));
    const listed = new Set(rows.map((m) => m.name));
    for (const [name, info] of available) {
      if (listed.has(name)) continue;
      views.push({
        name,
        title: null,
        state: 'available',
        installedVersion: null,
        availableVersion: info.version,
        summary: null,
        author: null,
        application: false,
        repository: info.repository,
      });
    }
    const search = filter.search?.trim().toLowerCase();
    return views
      .filter((v) => !filter.state || v.state === filter.state)
      .filter(
        (v) => !search || [v.name, v.title, v.summary, v.author].some((text) => text?.toLowerCase().includes(search)),
      )
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Checks a batch against the database; `dryRun` answers the plan (with dependents) without a job. */
  async apply(
    ctx: RequestContext,
    instanceId: string,
    input: ModuleChange,
  ): Promise<{ plan: ModulePlan; job: OperationView | null }> {
    const instance = await this.deps.instances.get(ctx.actor, instanceId);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'instance.operate');
    const install = names(input.install, 'install');
    const upgrade = names(input.upgrade, 'upgrade');
    const uninstall = names(input.uninstall, 'uninstall');
    if (input.updateList !== undefined && typeof input.updateList !== 'boolean')
      throw invalid('updateList', 'updateList must be true or false.');
    const updateList = input.updateList === true;
    if (install.length + upgrade.length + uninstall.length === 0 && !updateList)
      throw invalid('install', 'Name modules to install, upgrade or uninstall, or ask for updateList.');
    const twice = [...install, ...upgrade, ...uninstall].filter((n, i, all) => all.indexOf(n) !== i);
    if (twice.length > 0) throw invalid('install', `A module can be in one list only: ${twice.join(', ')}.`);
    if (uninstall.includes('base')) throw invalid('uninstall', 'base cannot be uninstalled.');

    const known = await this.list(ctx.actor, instanceId);
    const state = new Map(known.map((m) => [m.name, m.state]));
    const installed = (n: string) => ['installed', 'to upgrade'].includes(state.get(n) ?? '');
    const unknown = install.filter((n) => !state.has(n));
    if (unknown.length > 0)
      throw invalid('install', `Not in the addons of this instance: ${unknown.join(', ')}. Add the repository first.`);
    const already = install.filter(installed);
    if (already.length > 0) throw invalid('install', `Already installed: ${already.join(', ')}.`);
    const notInstalled = [...upgrade, ...uninstall].filter((n) => !installed(n));
    if (notInstalled.length > 0)
      throw invalid(
        upgrade.some((n) => !installed(n)) ? 'upgrade' : 'uninstall',
        `Not installed: ${notInstalled.join(', ')}.`,
      );
    const dependents =
      uninstall.length > 0
        ? await onInstanceDatabase(this.deps.jobDeps, instance, (c) => downstreamDependencies(c, uninstall))
        : [];
    const plan: ModulePlan = {
      install,
      upgrade,
      uninstall,
      alsoUninstalled: dependents.filter((n) => !uninstall.includes(n)).sort(),
      updateList,
    };
    if (input.dryRun === true) return { plan, job: null };
    // Uninstalling deletes data: on production it takes the instance's name typed out.
    if (uninstall.length > 0) this.deps.instances.requireConfirmation(instance, input.confirm);
    await this.deps.instances.requireIdle(instance);
    const job = await this.deps.instances.submit(ctx, instance, planJob(modulesJob, plan), 'instance.update_modules', {
      details: { ...plan },
    });
    return { plan, job };
  }
}

function modulesHandler(deps: RepositoryJobDeps) {
  return defineJob({
    ...modulesJob,
    /** The safety backup taken before anything changes (a failure restores it). */
    resources: Type.Object(safetyBackupMemory),
    run: async (job) => {
      let instance = await deps.instances.row(job.operation.target_id ?? '');
      const engine = await deps.hosts.reachableRuntime(instance.host_id);
      const wasRunning = Boolean((await engine.state(instance.container_name))?.running);
      const plan = job.input;
      let backupId: string | undefined;
      let applying = false;
      try {
        await job.step('backup', async () => {
          const backup = await safetyBackup(deps, job, instance, 'pre-update', 'database');
          backupId = backup.id;
          await job.log(`Safety backup ${backup.id} taken.`);
        });
        await job.step('stop', async () => {
          if (wasRunning) await engine.stop(instance.container_name);
        });
        await job.step('apply', async () => {
          applying = true;
          const runs = moduleCommand(plan, `${ODOO_CONF_DIR}/odoo.conf`, instance.db_name);
          for (const [index, run] of runs.entries()) {
            await job.log(`Odoo: ${run.step}.`);
            await runOdoo(
              deps,
              engine,
              instance,
              job,
              { suffix: `modules-${index}`, cmd: run.cmd, env: run.env },
              run.step,
            );
          }
          // Odoo may exit 0 without doing what was asked: the database says what happened.
          const problems = moduleOutcomeProblems(plan, await onInstanceDatabase(deps, instance, (c) => listModules(c)));
          if (problems.length > 0)
            throw new MarinaError('MARINA_E_ODOO_COMMAND_FAILED', `Odoo finished, but: ${problems.join('; ')}.`);
          await job.log(
            `Installed: ${plan.install.join(', ') || '—'}; upgraded: ${plan.upgrade.join(', ') || '—'}; uninstalled: ${[...plan.uninstall, ...plan.alsoUninstalled].join(', ') || '—'}.`,
          );
        });
        await job.step('start', async () => {
          instance = await ensureServer(deps, engine, await deps.instances.row(instance.id));
          // Restart, not start: Odoo loads the changed modules' code only when it starts.
          if (wasRunning) await engine.restart(instance.container_name);
        });
        if (wasRunning) await job.step('health', () => healthy(deps, engine, instance));
        else await job.skip('health', 'the instance was stopped');
        return { ...plan };
      } catch (error) {
        const message = (error as Error).message;
        if (!applying) {
          if (wasRunning && !(await engine.state(instance.container_name))?.running)
            await engine.start(instance.container_name).catch(() => undefined);
          throw error;
        }
        await job.log('The module changes failed: restoring the database from the safety backup.', 'error');
        if ((await engine.state(instance.container_name))?.running) await engine.stop(instance.container_name);
        if (backupId) await restoreDatabaseInPlace(deps, job, instance, await deps.backups.row(backupId));
        instance = await ensureServer(deps, engine, await deps.instances.row(instance.id));
        if (wasRunning) {
          await engine.restart(instance.container_name);
          await healthy(deps, engine, instance);
        }
        throw new MarinaError(
          'MARINA_E_UPDATE_FAILED',
          `${message}\nRolled back: the database is as it was before${wasRunning ? ', and Odoo is running again' : ''}.`,
        );
      }
    },
  });
}

export function registerModuleJobs(runner: JobRunner, deps: RepositoryJobDeps): void {
  runner.register(modulesHandler(deps));
}
