import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Git } from '../../adapters/git/git.js';
import type { OutboundGuard } from '../../adapters/net/outbound.js';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Hooks } from '../../platform/hooks.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { planJob } from '../../platform/jobs/define.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { BackupJobDeps } from '../backups/jobs.js';
import type { InstanceHooks } from '../instances/hooks.js';
import type { InstanceService } from '../instances/service.js';
import type { ProjectService } from '../projects/service.js';
import { Checkouts } from './checkouts.js';
import { GitSettingsService } from './git-settings.js';
import { type RepositoryJobInputs, reconfigureJob, repositoryUpdateJob } from './job-specs.js';
import { moduleRoutes } from './module-routes.js';
import { ModuleService, registerModuleJobs } from './odoo-modules.js';
import { PushHookGuard } from './push-hook-guard.js';
import { RepositoryService, type SubmitUpdate } from './repositories.js';
import { prepareCheckouts, type RepositoryJobDeps, registerRepositoryJobs } from './repository-jobs.js';
import { repositoryRoutes } from './repository-routes.js';

export interface CodeModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  config: Pick<MarinaConfig, 'dataDir' | 'backups' | 'publicUrl' | 'webhooks'>;
  projects: ProjectService;
  instances: InstanceService;
  /** Checks the remote's address before git or ssh-keyscan connects. */
  guard: OutboundGuard;
  /** What the backup jobs need: updates take a safety backup and restore it on failure. */
  backupJobDeps: BackupJobDeps;
  /** Answers the mounts of an instance and prepares and removes its checkouts. */
  hooks: Hooks<InstanceHooks>;
}

export interface CodeModule {
  /** Local (file://) repositories: the root folder and which organizations may use them. */
  gitSettings: GitSettingsService;
  repositories: RepositoryService;
  modules: ModuleService;
  /** Queues a repository job on an instance, refused while another job runs there. */
  submitRepositoryJob: SubmitUpdate;
  /** Rate limit and replay memory of push hooks. */
  pushHookGuard: PushHookGuard;
  registerJobs(runner: JobRunner): void;
}

/** Code: git repositories of projects, their checkouts per instance, Odoo modules, push hooks. */
export function createCodeModule(deps: CodeModuleDeps): CodeModule {
  const { db, clock, audit, box, config, projects, instances, guard, hooks } = deps;
  const gitSettings = new GitSettingsService({
    db,
    clock,
    audit,
    protectedDirs: [config.dataDir, config.backups.dir],
  });
  const repositories = new RepositoryService({
    db,
    clock,
    audit,
    box,
    projects,
    instances,
    gitSettings,
    git: new Git(),
    checkouts: new Checkouts({ db, clock, addonsRoot: join(config.dataDir, 'addons') }),
    publicUrl: config.publicUrl,
    guard,
  });
  const jobDeps: RepositoryJobDeps = { ...deps.backupJobDeps, repositories };
  hooks.on('instanceMounts', (instance) => repositories.mountsOf(instance));
  hooks.on('prepareAddons', (job, instance) => prepareCheckouts(jobDeps, job, instance));
  hooks.on('removeAddons', (instance) =>
    rm(repositories.instanceFolder(instance.id), { recursive: true, force: true }),
  );
  const submitRepositoryJob: SubmitUpdate = async (ctx, instance, kind, input) => {
    await instances.requireIdle(instance);
    // The input's type follows the kind; planJob checks it against the job's schema as well.
    const job =
      kind === 'repository.update'
        ? planJob(repositoryUpdateJob, input as RepositoryJobInputs['repository.update'])
        : planJob(reconfigureJob, {});
    return instances.submit(
      ctx,
      instance,
      job,
      kind === 'repository.update' ? 'instance.update_code' : 'instance.reconfigure_addons',
    );
  };
  return {
    gitSettings,
    repositories,
    modules: new ModuleService({ db, instances, repositories, jobDeps }),
    submitRepositoryJob,
    pushHookGuard: new PushHookGuard({ db, clock, limits: config.webhooks }),
    registerJobs: (runner) => {
      registerRepositoryJobs(runner, jobDeps);
      registerModuleJobs(runner, jobDeps);
    },
  };
}

export const codeRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, options) => {
  await app.register(repositoryRoutes, options);
  await app.register(moduleRoutes, options);
};
