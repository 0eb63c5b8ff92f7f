import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Static, Type } from 'typebox';
import type { GitAccess } from '../../adapters/git/git.js';
import type { Instance, Repository } from '../../db/schema.js';
import { addonChecksums, changedAddons } from '../../odoo/addon-checksums.js';
import { scanAddons } from '../../odoo/addons.js';
import { MarinaError } from '../../platform/errors.js';
import { defineJob, type JobActivity } from '../../platform/jobs/define.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { type BackupJobDeps, restoreDatabaseInPlace, safetyBackup, safetyBackupMemory } from '../backups/jobs.js';
import { ensureServer, healthy } from '../instances/jobs.js';
import { installedModules, runOdoo } from '../instances/odoo-runs.js';
import { reconfigureJob, repositoryUpdateJob } from './job-specs.js';
import { confinedSubfolder } from './repo-paths.js';
import { gitError, type RepositoryService } from './repositories.js';

export interface RepositoryJobDeps extends BackupJobDeps {
  repositories: RepositoryService;
}

/** What the checkout held before the update: where a rollback returns to. */
const Before = Type.Object({
  commit: Type.Union([Type.String(), Type.Null()]),
  checksums: Type.Record(Type.String(), Type.String()),
  paths: Type.Array(Type.String()),
  rootIsAddon: Type.Boolean(),
});

/** What an update changed so far; remembered, so a rollback after a crash knows what to undo. */
const Progress = Type.Object({
  before: Before,
  wasRunning: Type.Boolean(),
  from: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  to: Type.Optional(Type.String()),
  /** The previous folder, kept aside while a fresh clone (first clone, other branch) is tried. */
  replaced: Type.Optional(Type.String()),
  cloneTemp: Type.Optional(Type.String()),
  safetyBackup: Type.Optional(Type.String()),
  /** The database may have changed: a rollback restores the safety backup. */
  upgradeStarted: Type.Optional(Type.Boolean()),
  /** The instance's mounts or addons_path were rewritten, or Odoo was stopped: a rollback restarts it. */
  runtimeChanged: Type.Optional(Type.Boolean()),
});
type Progress = Static<typeof Progress>;

/** An update remembers its progress, and the safety backup it takes before an upgrade. */
const UpdateMemory = Type.Object({ update: Progress, ...safetyBackupMemory });

/** The addons of a checkout: what the update compares and mounts. */
async function inspect(repo: Repository, dir: string) {
  // Never a folder a symbolic link leads to: that would scan (and list) the host's or another tenant's files.
  const root = await confinedSubfolder(dir, repo.subfolder);
  const scan = await scanAddons(root);
  // A manifest Odoo would choke on fails the update before anything changed.
  const broken = scan.skipped.filter((s) => s.unreadable);
  if (broken.length > 0) {
    throw new MarinaError(
      'MARINA_E_ADDONS_INVALID',
      `Odoo cannot load these addons: ${broken.map((s) => `${s.path}: ${s.reason}`).join('; ')}`,
    );
  }
  const checksums = await addonChecksums(root, scan.addons);
  return { scan, checksums };
}

async function cloneAside(
  deps: RepositoryJobDeps,
  repo: Repository,
  access: GitAccess,
  branch: string,
  dir: string,
  tag: string,
) {
  const temp = `${dir}.clone-${tag}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(dirname(dir), { recursive: true, mode: 0o755 });
  const head = await deps.repositories.git.clone(repo.url, branch, temp, access, { submodules: repo.submodules });
  return { temp, head };
}

/** Clones what an instance's project needs, before its Odoo first starts; a failure is reported, not fatal. */
export async function prepareCheckouts(deps: RepositoryJobDeps, job: JobActivity, instance: Instance): Promise<void> {
  for (const repo of await deps.repositories.repositoriesOfProject(instance.project_id)) {
    const checkout = await deps.repositories.ensureCheckout(repo, instance);
    if (checkout.commit !== null) continue;
    const dir = deps.repositories.checkoutDir(instance.id, repo.name);
    try {
      const access = await deps.repositories.access(repo);
      const { temp, head } = await cloneAside(deps, repo, access, checkout.branch, dir, job.operation.id.slice(0, 8));
      await rm(dir, { recursive: true, force: true });
      await rename(temp, dir);
      const { scan, checksums } = await inspect(repo, dir);
      await deps.repositories.recordCheckout(repo.id, instance.id, {
        commit: head.hash,
        checksums,
        addons_paths: scan.paths,
        root_is_addon: scan.rootIsAddon,
        status: 'ready',
        error: null,
        last_operation_id: job.operation.id,
      });
      await job.log(
        `Repository ${repo.name}: ${checkout.branch} at ${head.hash.slice(0, 12)}, ${scan.addons.length} addons.`,
      );
    } catch (error) {
      const message = gitError(error).message;
      // The job that tried is the checkout's last job: the card shows this error with a link to it.
      await deps.repositories.recordCheckout(repo.id, instance.id, {
        status: 'failed',
        error: message,
        last_operation_id: job.operation.id,
      });
      await job.log(`Repository ${repo.name} could not be cloned (${message}); pull it once that is fixed.`, 'warn');
    }
  }
}

/**
 * Puts everything back as it was before the update: the database from the safety backup (when the
 * upgrade had started), the folder at the previous commit, the records, and Odoo running again.
 */
async function rollback(
  deps: RepositoryJobDeps,
  job: Pick<JobActivity, 'operation' | 'log'>,
  instance: Instance,
  repo: Repository,
  progress: Progress,
): Promise<string[]> {
  const done: string[] = [];
  const engine = await deps.hosts.reachableRuntime(instance.host_id);
  const dir = deps.repositories.checkoutDir(instance.id, repo.name);
  if (progress.upgradeStarted && progress.safetyBackup) {
    if ((await engine.state(instance.container_name))?.running) await engine.stop(instance.container_name);
    const backup = await deps.backups.row(progress.safetyBackup);
    await restoreDatabaseInPlace(deps, job, instance, backup);
    done.push(`the database from the backup of ${backup.created_at.toISOString()}`);
    await job.log(`Rollback: database restored from safety backup ${backup.id}.`);
  }
  if (progress.cloneTemp) await rm(progress.cloneTemp, { recursive: true, force: true });
  if (progress.replaced !== undefined) {
    await rm(dir, { recursive: true, force: true });
    if (existsSync(progress.replaced)) await rename(progress.replaced, dir);
  } else if (progress.from && progress.to && progress.from !== progress.to && existsSync(join(dir, '.git'))) {
    await deps.repositories.git.resetTo(dir, progress.from, await deps.repositories.access(repo), {
      submodules: repo.submodules,
    });
  }
  if (progress.before.commit) done.push(`the code at ${progress.before.commit.slice(0, 12)}`);
  await deps.repositories.recordCheckout(repo.id, instance.id, {
    commit: progress.before.commit,
    checksums: progress.before.checksums,
    addons_paths: progress.before.paths,
    root_is_addon: progress.before.rootIsAddon,
  });
  if (!progress.runtimeChanged && !progress.upgradeStarted) return done;
  const current = await deps.instances.row(instance.id);
  const server = await ensureServer(deps, engine, current);
  if (progress.wasRunning) {
    await engine.restart(server.container_name);
    await healthy(deps, engine, server);
    done.push('Odoo running and healthy');
  }
  return done;
}

function updateHandler(deps: RepositoryJobDeps) {
  return defineJob({
    ...repositoryUpdateJob,
    resources: UpdateMemory,
    run: async (job) => {
      let instance = await deps.instances.row(job.operation.target_id ?? '');
      const repo = await deps.repositories.row(job.input.repositoryId);
      const checkout = await deps.repositories.ensureCheckout(repo, instance);
      await deps.repositories.recordCheckout(repo.id, instance.id, { last_operation_id: job.operation.id });
      const dir = deps.repositories.checkoutDir(instance.id, repo.name);
      const access = await deps.repositories.access(repo);
      const engine = await deps.hosts.reachableRuntime(instance.host_id);
      const progress: Progress = {
        before: {
          commit: checkout.commit,
          checksums: checkout.checksums,
          paths: checkout.addons_paths,
          rootIsAddon: checkout.root_is_addon,
        },
        wasRunning: Boolean((await engine.state(instance.container_name))?.running),
      };
      const remember = (change: Partial<Progress>) => {
        Object.assign(progress, change);
        return job.remember('update', progress);
      };
      await remember({});
      if (job.input.after) await job.log(`Push of ${job.input.after.slice(0, 12)} to ${checkout.branch}.`);

      let step: string = 'fetch';
      try {
        let fresh = false;
        await job.step('fetch', async () => {
          const present = checkout.commit !== null && existsSync(join(dir, '.git'));
          const onBranch =
            present && (await deps.repositories.git.status(dir, checkout.branch)).branch === checkout.branch;
          if (present && onBranch) {
            await deps.repositories.git.fetch(dir, checkout.branch, access);
            const moved = await deps.repositories.git.fastForward(dir, checkout.branch, access, {
              submodules: repo.submodules,
            });
            await remember({ from: moved.from, to: moved.to });
            await job.log(
              moved.from === moved.to
                ? `Already up to date at ${moved.to.slice(0, 12)}.`
                : `Fast-forward ${moved.from.slice(0, 12)} → ${moved.to.slice(0, 12)}.`,
            );
            return;
          }
          fresh = true;
          const tag = job.operation.id.slice(0, 8);
          await remember({ cloneTemp: `${dir}.clone-${tag}` });
          const { temp, head } = await cloneAside(deps, repo, access, checkout.branch, dir, tag);
          if (existsSync(dir)) {
            await remember({ replaced: `${dir}.previous-${tag}` });
            await rm(`${dir}.previous-${tag}`, { recursive: true, force: true });
            await rename(dir, `${dir}.previous-${tag}`);
          }
          await rename(temp, dir);
          await remember({ cloneTemp: undefined, from: checkout.commit, to: head.hash });
          await job.log(`Cloned ${checkout.branch} at ${head.hash.slice(0, 12)}: ${head.subject}`);
        });

        step = 'changes';
        const found = await job.step('changes', async () => {
          const { scan, checksums } = await inspect(repo, dir);
          const diff = changedAddons(progress.before.checksums, checksums);
          const installed = await installedModules(deps, instance);
          const upgrade = [...diff.changed, ...diff.added].filter((name) => installed.has(name)).sort();
          const pathsChanged =
            fresh ||
            JSON.stringify(scan.paths) !== JSON.stringify(progress.before.paths) ||
            scan.rootIsAddon !== progress.before.rootIsAddon;
          await job.log(
            `${scan.addons.length} addons; changed ${diff.changed.length}, new ${diff.added.length}, removed ${diff.removed.length}; installed and changed: ${upgrade.join(', ') || 'none'}.`,
          );
          const gone = diff.removed.filter((name) => installed.has(name));
          if (gone.length > 0)
            await job.log(`Installed modules no longer in the repository: ${gone.join(', ')}; uninstall them.`, 'warn');
          return { scan, checksums, upgrade, pathsChanged };
        });
        const moved = progress.from !== progress.to;
        const upgrading = repo.auto_upgrade && found.upgrade.length > 0;
        if (!repo.auto_upgrade && found.upgrade.length > 0)
          await job.log(`Auto-upgrade is off: upgrade ${found.upgrade.join(', ')} from the modules tab.`, 'warn');

        step = 'backup';
        if (!upgrading) await job.skip('backup', 'no installed module changed');
        else
          await job.step('backup', async () => {
            const backup = await safetyBackup(deps, job, instance, 'pre-update', 'database');
            await remember({ safetyBackup: backup.id });
            await job.log(`Safety backup ${backup.id} taken before the upgrade.`);
          });

        // The new folders and addons_path are what the upgrade and the restarted Odoo must see.
        await remember({ runtimeChanged: true });
        await deps.repositories.recordCheckout(repo.id, instance.id, {
          commit: progress.to ?? null,
          previous_commit: moved ? (progress.from ?? null) : checkout.previous_commit,
          addons_paths: found.scan.paths,
          root_is_addon: found.scan.rootIsAddon,
        });

        step = 'upgrade';
        if (!upgrading) await job.skip('upgrade', 'no installed module changed');
        else
          await job.step('upgrade', async () => {
            if ((await engine.state(instance.container_name))?.running) await engine.stop(instance.container_name);
            await remember({ upgradeStarted: true });
            await runOdoo(
              deps,
              engine,
              instance,
              job,
              {
                suffix: 'update',
                cmd: [
                  'odoo',
                  '-c',
                  '/etc/odoo/odoo.conf',
                  '-d',
                  instance.db_name,
                  '-u',
                  found.upgrade.join(','),
                  '--stop-after-init',
                ],
              },
              `odoo -u ${found.upgrade.join(',')}`,
            );
            await job.log(`Upgraded ${found.upgrade.join(', ')}.`);
          });

        step = 'restart';
        const restart = upgrading || found.pathsChanged || (moved && repo.auto_restart);
        if (!restart)
          await job.skip(
            'restart',
            moved ? 'auto-restart is off: Odoo runs the new code from its next restart' : 'nothing changed',
          );
        else
          await job.step('restart', async () => {
            instance = await ensureServer(deps, engine, await deps.instances.row(instance.id));
            // Restart, not start: the same container must load the new code.
            if (progress.wasRunning) await engine.restart(instance.container_name);
            else await job.log('The instance was stopped: it starts with the new code next time.');
          });

        step = 'health';
        if (restart && progress.wasRunning) await job.step('health', () => healthy(deps, engine, instance));
        else await job.skip('health', 'Odoo was not restarted');

        await deps.repositories.recordCheckout(repo.id, instance.id, {
          checksums: found.checksums,
          status: 'ready',
          error: null,
        });
        if (progress.replaced) await rm(progress.replaced, { recursive: true, force: true });
        return {
          from: progress.from ?? null,
          to: progress.to ?? null,
          upgraded: upgrading ? found.upgrade : [],
          // Changed and installed, left for the modules tab because auto-upgrade is off.
          notUpgraded: upgrading ? [] : found.upgrade,
          restarted: restart && progress.wasRunning,
        };
      } catch (error) {
        const failure = gitError(error).message;
        const code = error instanceof MarinaError ? error.code : 'MARINA_E_GIT';
        await job.log(`The update failed at "${step}": rolling back.`, 'error');
        let undone: string[];
        try {
          undone = await rollback(deps, job, instance, repo, progress);
        } catch (rollbackError) {
          const message = `${failure}\nThe rollback failed too: ${(rollbackError as Error).message}`;
          await deps.repositories.recordCheckout(repo.id, instance.id, {
            status: 'failed',
            error: message.slice(0, 4000),
          });
          throw new MarinaError('MARINA_E_UPDATE_FAILED', message);
        }
        await deps.repositories.recordCheckout(repo.id, instance.id, {
          status: progress.before.commit ? 'ready' : 'failed',
          error: failure.slice(0, 4000),
        });
        // Refused before anything changed (diverged, unreachable): the git error as it is.
        if (step === 'fetch') throw error instanceof MarinaError ? error : new MarinaError(code, failure);
        throw new MarinaError(
          'MARINA_E_UPDATE_FAILED',
          `The update failed at "${step}": ${failure}\nRolled back: ${undone.join(', ') || 'nothing had changed'}.`,
        );
      }
    },
    recover: async ({ operation, input, resources }, error) => {
      // Marina stopped mid-update: undo what the job had done, as a failure inside it would.
      const progress = resources.update;
      if (!progress) return;
      const instance = await deps.instances.row(operation.target_id ?? '').catch(() => undefined);
      const repo = await deps.repositories.row(input.repositoryId).catch(() => undefined);
      if (!instance || !repo) return;
      await rollback(deps, { operation, log: async () => undefined }, instance, repo, progress);
      await deps.repositories.recordCheckout(repo.id, instance.id, {
        status: progress.before.commit ? 'ready' : 'failed',
        error: `Interrupted and rolled back: ${error.message}`.slice(0, 4000),
      });
    },
  });
}

/** After repositories were removed: their folders go, and Odoo restarts without them. */
function reconfigureHandler(deps: RepositoryJobDeps) {
  return defineJob({
    ...reconfigureJob,
    run: async (job) => {
      let instance = await deps.instances.row(job.operation.target_id ?? '');
      const engine = await deps.hosts.reachableRuntime(instance.host_id);
      const wasRunning = Boolean((await engine.state(instance.container_name))?.running);
      await job.step('checkout', async () => {
        const folder = deps.repositories.instanceFolder(instance.id);
        const kept = new Set((await deps.repositories.repositoriesOfProject(instance.project_id)).map((r) => r.name));
        for (const entry of existsSync(folder) ? await readdir(folder) : []) {
          if (kept.has(entry)) continue;
          await rm(join(folder, entry), { recursive: true, force: true });
          await job.log(`Removed the checkout ${entry}.`);
        }
      });
      await job.step('restart', async () => {
        instance = await ensureServer(deps, engine, instance);
        if (wasRunning) await engine.restart(instance.container_name);
      });
      if (wasRunning) await job.step('health', () => healthy(deps, engine, instance));
      else await job.skip('health', 'the instance was stopped');
      return undefined;
    },
  });
}

export function registerRepositoryJobs(runner: JobRunner, deps: RepositoryJobDeps): void {
  runner.register(updateHandler(deps));
  runner.register(reconfigureHandler(deps));
}
