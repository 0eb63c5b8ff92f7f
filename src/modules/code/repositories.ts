import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Git, type GitAccess, generateDeployKey, type PinnedRemote } from '../../adapters/git/git.js';
import type { OutboundGuard } from '../../adapters/net/outbound.js';
import type { Db } from '../../db/database.js';
import type { Instance, Repository, RepositoryCheckout } from '../../db/schema.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import type { OperationView } from '../../platform/jobs/operations.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { invalid, isUuid } from '../../platform/validation.js';
import type { InstanceService } from '../instances/service.js';
import type { ProjectService } from '../projects/service.js';
import { requireOutbound } from '../settings/outbound-settings.js';
import type { Checkouts } from './checkouts.js';
import type { GitSettingsService } from './git-settings.js';
import type { RepositoryJobInputs, UpdateJobInput } from './job-specs.js';
import {
  parseRepoUrl,
  type RepoUrl,
  repoNameFromUrl,
  requireBranch,
  requireRepoFolder,
  requireSubfolder,
} from './repo-validation.js';
import { projectInstances, requireRepositoryManage } from './repository-access.js';
import {
  gitError,
  knownHostsFor,
  type NewRepositoryInput,
  optionalBoolean,
  type RepositoryChange,
  requireBranches,
} from './repository-input.js';
import { type CheckoutView, type RepositoryView, repositoryView } from './repository-views.js';

export type { CheckoutView, RepositoryView, UpdateJobInput };
export type UpdateReason = UpdateJobInput['reason'];
export { gitError, type NewRepositoryInput, type RepositoryChange };

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Submits one job on an instance (the instance service's queue, audit and busy rules). */
export type SubmitUpdate = <Kind extends keyof RepositoryJobInputs>(
  ctx: RequestContext,
  instance: Instance,
  kind: Kind,
  input: RepositoryJobInputs[Kind],
) => Promise<OperationView>;

export interface RepositoryServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  projects: ProjectService;
  instances: InstanceService;
  gitSettings: GitSettingsService;
  git: Git;
  /** Each instance's checkouts: folders, records, mounts. */
  checkouts: Checkouts;
  publicUrl: string;
  /** Checks the remote's address before git or ssh-keyscan connects (adapters/net/outbound.ts). */
  guard: OutboundGuard;
}

/**
 * Git repositories of a project: each instance of the project has its own checkout, on its own
 * branch, in Marina's data folder, mounted read-only into its Odoo under /mnt/extra-addons/<name>.
 */
export class RepositoryService {
  readonly git: Git;
  readonly checkouts: Checkouts;

  constructor(private readonly deps: RepositoryServiceDeps) {
    this.git = deps.git;
    this.checkouts = deps.checkouts;
  }

  /** The checked address of a remote's host; file:// remotes have none. Refusals are MARINA_E_OUTBOUND_REFUSED. */
  async pinRemote(url: RepoUrl): Promise<PinnedRemote | undefined> {
    if (url.scheme === 'file' || url.host === null) return undefined;
    const port = url.port ?? (url.scheme === 'ssh' ? 22 : 443);
    const checked = await requireOutbound(this.deps.guard, url.host, port);
    return { host: url.host, port, address: checked.address };
  }

  /** The folder holding one instance's checkout of a repository (the working tree, .git inside). */
  checkoutDir(instanceId: string, repositoryName: string): string {
    return this.checkouts.checkoutDir(instanceId, repositoryName);
  }

  instanceFolder(instanceId: string): string {
    return this.checkouts.instanceFolder(instanceId);
  }

  ensureCheckout(repo: Repository, instance: Instance): Promise<RepositoryCheckout> {
    return this.checkouts.ensureCheckout(repo, instance);
  }

  recordCheckout(...args: Parameters<Checkouts['recordCheckout']>): Promise<void> {
    return this.checkouts.recordCheckout(...args);
  }

  mountsOf(instance: Instance): ReturnType<Checkouts['mountsOf']> {
    return this.checkouts.mountsOf(instance);
  }

  private view(actor: Actor, repo: Repository, withGit = false): Promise<RepositoryView> {
    return repositoryView(
      {
        db: this.deps.db,
        box: this.deps.box,
        git: this.git,
        checkouts: this.checkouts,
        publicUrl: this.deps.publicUrl,
      },
      actor,
      repo,
      withGit,
    );
  }

  async access(repo: Repository): Promise<GitAccess> {
    const url = parseRepoUrl(repo.url, { allowFile: true });
    let allowFile = false;
    if (url.scheme === 'file') {
      // Checked again at every use: the grant, the root or a symlink on the way may have changed.
      allowFile = await this.deps.gitSettings
        .requireLocalRepository(repo.organization_id, url.path)
        .then(() => true)
        .catch(() => false);
    }
    const pinned = await this.pinRemote(url);
    return {
      ...(pinned ? { pinned } : {}),
      privateKey: this.deps.box.open(repo.deploy_private_key, sealedAt('repositories', 'deploy_private_key', repo.id)),
      knownHosts: repo.known_hosts ?? undefined,
      allowFile,
    };
  }

  async row(id: string): Promise<Repository> {
    if (!isUuid(id)) throw notFound('Repository');
    const repo = await this.deps.db.selectFrom('repositories').selectAll().where('id', '=', id).executeTakeFirst();
    if (!repo) throw notFound('Repository');
    return repo;
  }

  async get(actor: Actor, id: string): Promise<Repository> {
    const repo = await this.row(id);
    await requirePermissionOn(this.deps.db, actor, repo, 'project.view', 'Repository');
    return repo;
  }

  async list(actor: Actor, projectId: string): Promise<RepositoryView[]> {
    const project = await this.deps.projects.get(actor, projectId);
    const repos = await this.deps.db
      .selectFrom('repositories')
      .selectAll()
      .where('project_id', '=', project.id)
      .orderBy('name')
      .execute();
    return Promise.all(repos.map((r) => this.view(actor, r)));
  }

  /** One repository with what its folders say (HEAD, dirty, ahead/behind); `fetch` asks the remote first. */
  async describe(actor: Actor, id: string, options: { fetch?: boolean } = {}): Promise<RepositoryView> {
    const repo = await this.get(actor, id);
    const fetchErrors = new Map<string, string>();
    if (options.fetch) {
      const access = await this.access(repo);
      const checkouts = await this.deps.db
        .selectFrom('repository_checkouts')
        .selectAll()
        .where('repository_id', '=', repo.id)
        .where('commit', 'is not', null)
        .execute();
      for (const c of checkouts) {
        const dir = this.checkoutDir(c.instance_id, repo.name);
        if (!existsSync(join(dir, '.git'))) continue;
        try {
          await this.git.fetch(dir, c.branch, access);
        } catch (error) {
          fetchErrors.set(c.instance_id, gitError(error).message);
        }
      }
    }
    const view = await this.view(actor, repo, true);
    // One unreachable checkout does not hide the others' status.
    for (const checkout of view.checkouts) checkout.fetchError = fetchErrors.get(checkout.instanceId) ?? null;
    return view;
  }

  /** A fetch runs git against the remote, so it is a POST of its own (and audited), never a side effect of a read. */
  async fetchStatus(ctx: RequestContext, id: string): Promise<RepositoryView> {
    const view = await this.describe(ctx.actor, id, { fetch: true });
    const failed = view.checkouts.filter((c) => c.fetchError).map((c) => c.instanceId);
    await this.deps.audit.record(ctx, {
      action: 'repository.fetch',
      organizationId: view.organizationId,
      target: { type: 'repository', id: view.id, label: view.name },
      details: { checkouts: view.checkouts.length, failed },
    });
    return view;
  }

  /** Organization admins add repositories; every instance of the project gets a checkout and a restart. */
  async create(
    ctx: RequestContext,
    projectId: string,
    input: NewRepositoryInput,
    submit: SubmitUpdate,
  ): Promise<{ repository: RepositoryView; jobs: OperationView[] }> {
    const project = await this.deps.projects.get(ctx.actor, projectId);
    await requireRepositoryManage(this.deps.db, ctx.actor, { ...project, project_id: project.id }, 'Project');
    const fileRoot = await this.deps.gitSettings.fileRootFor(project.organization_id);
    const url = parseRepoUrl(input.url, { allowFile: fileRoot !== null });
    if (url.scheme === 'file') await this.deps.gitSettings.requireLocalRepository(project.organization_id, url.path);
    const branch = requireBranch(input.branch);
    const name = input.name === undefined ? repoNameFromUrl(url) : requireRepoFolder(input.name);
    const subfolder = input.subfolder === undefined ? '' : requireSubfolder(input.subfolder);
    const submodules = optionalBoolean(input.submodules, 'submodules', false);
    const autoRestart = optionalBoolean(input.autoRestart, 'autoRestart', true);
    const autoUpgrade = optionalBoolean(input.autoUpgrade, 'autoUpgrade', true);
    const instances = await projectInstances(this.deps.db, project.id);
    const branches = requireBranches(input.branches, instances);
    const knownHosts = await knownHostsFor(url, input.knownHosts, (u) => this.pinRemote(u));
    const clash = await this.deps.db
      .selectFrom('repositories')
      .select('id')
      .where('project_id', '=', project.id)
      .where('name', '=', name)
      .executeTakeFirst();
    if (clash)
      throw new MarinaError(
        'MARINA_E_CONFLICT',
        `The project already has a repository in the folder "${name}"; choose another name.`,
        { field: 'name' },
      );
    const key = await generateDeployKey(`marina-deploy-${project.name}-${name}`);
    const token = randomBytes(24).toString('base64url');
    const secret = randomBytes(24).toString('base64url');
    // Known before the insert: the sealed values are bound to it.
    const id = crypto.randomUUID();
    const by = ctx.actor.kind === 'user' ? ctx.actor.email : ctx.actor.label;
    const now = this.deps.clock.now();
    const repo = await this.deps.db.transaction().execute(async (trx) => {
      const created = await trx
        .insertInto('repositories')
        .values({
          id,
          organization_id: project.organization_id,
          project_id: project.id,
          name,
          url: url.url,
          branch,
          subfolder,
          submodules,
          auto_restart: autoRestart,
          auto_upgrade: autoUpgrade,
          deploy_private_key: this.deps.box.seal(key.privateKey, sealedAt('repositories', 'deploy_private_key', id)),
          deploy_public_key: key.publicKey,
          known_hosts: knownHosts,
          hook_token_hash: hashToken(token),
          hook_token: this.deps.box.seal(token, sealedAt('repositories', 'hook_token', id)),
          hook_secret: this.deps.box.seal(secret, sealedAt('repositories', 'hook_secret', id)),
          created_by: by,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      for (const instance of instances) {
        await trx
          .insertInto('repository_checkouts')
          .values({
            repository_id: created.id,
            instance_id: instance.id,
            branch: branches.get(instance.id) ?? branch,
            updated_at: now,
          })
          .execute();
      }
      await this.deps.audit.record(
        ctx,
        {
          action: 'repository.create',
          organizationId: project.organization_id,
          target: { type: 'repository', id: created.id, label: name },
          details: { url: url.url, branch, subfolder, submodules, autoRestart, autoUpgrade },
        },
        trx,
      );
      return created;
    });
    const jobs: OperationView[] = [];
    for (const instance of instances) {
      try {
        const job = await submit(ctx, instance, 'repository.update', { repositoryId: repo.id, reason: 'add' });
        jobs.push(job);
        await this.recordCheckout(repo.id, instance.id, { last_operation_id: job.id });
      } catch (error) {
        await this.recordNotQueued(repo.id, instance, error);
      }
    }
    return { repository: await this.view(ctx.actor, repo), jobs };
  }

  /**
   * The clone could not be queued (the instance was busy). The job holding the instance may clone the
   * repository itself (provisioning does), and what it found (the git error) is the truth to show:
   * this refusal never overwrites it, and it points at that job.
   */
  private async recordNotQueued(repositoryId: string, instance: Instance, error: unknown): Promise<void> {
    const blocking =
      error instanceof MarinaError && typeof error.details?.job === 'string' ? (error.details.job as string) : null;
    const reason = (error as Error).message.replace(/\.$/, '');
    await this.deps.db
      .updateTable('repository_checkouts')
      .set({
        status: 'failed',
        error: `Not cloned yet: ${reason}${blocking && !reason.includes(blocking) ? ` (job ${blocking})` : ''}. Press Update once that job has ended.`,
        last_operation_id: blocking,
        updated_at: this.deps.clock.now(),
      })
      .where('repository_id', '=', repositoryId)
      .where('instance_id', '=', instance.id)
      .where('commit', 'is', null)
      .where('error', 'is', null)
      .execute();
  }

  async change(
    ctx: RequestContext,
    id: string,
    input: RepositoryChange,
    submit: SubmitUpdate,
  ): Promise<{ repository: RepositoryView; jobs: OperationView[] }> {
    const repo = await this.get(ctx.actor, id);
    await requireRepositoryManage(this.deps.db, ctx.actor, repo, 'Repository');
    const instances = await projectInstances(this.deps.db, repo.project_id);
    const branch = input.branch === undefined ? repo.branch : requireBranch(input.branch);
    const autoRestart = optionalBoolean(input.autoRestart, 'autoRestart', repo.auto_restart);
    const autoUpgrade = optionalBoolean(input.autoUpgrade, 'autoUpgrade', repo.auto_upgrade);
    const branches = requireBranches(input.branches, instances);
    const checkouts = await this.deps.db
      .selectFrom('repository_checkouts')
      .selectAll()
      .where('repository_id', '=', repo.id)
      .execute();
    // Instances without their own branch follow the repository's; one without a checkout gets one.
    const plan = instances.map((instance) => {
      const current = checkouts.find((c) => c.instance_id === instance.id);
      const followed = current === undefined || current.branch === repo.branch;
      const wanted = branches.get(instance.id) ?? (followed ? branch : current.branch);
      return { instance, current, wanted };
    });
    const moved = plan.filter((p) => p.current?.branch !== p.wanted).map((p) => p.instance);
    for (const instance of moved) await this.deps.instances.requireIdle(instance);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('repositories')
        .set({ branch, auto_restart: autoRestart, auto_upgrade: autoUpgrade, updated_at: this.deps.clock.now() })
        .where('id', '=', repo.id)
        .execute();
      for (const { instance, current, wanted } of plan) {
        if (current === undefined) {
          await trx
            .insertInto('repository_checkouts')
            .values({
              repository_id: repo.id,
              instance_id: instance.id,
              branch: wanted,
              updated_at: this.deps.clock.now(),
            })
            .execute();
        } else if (current.branch !== wanted) {
          await trx
            .updateTable('repository_checkouts')
            .set({ branch: wanted, updated_at: this.deps.clock.now() })
            .where('repository_id', '=', repo.id)
            .where('instance_id', '=', instance.id)
            .execute();
        }
      }
      await this.deps.audit.record(
        ctx,
        {
          action: 'repository.update',
          organizationId: repo.organization_id,
          target: { type: 'repository', id: repo.id, label: repo.name },
          details: { branch, autoRestart, autoUpgrade, branches: Object.fromEntries(branches) },
        },
        trx,
      );
    });
    const jobs: OperationView[] = [];
    for (const instance of moved)
      jobs.push(await submit(ctx, instance, 'repository.update', { repositoryId: repo.id, reason: 'branch' }));
    return { repository: await this.view(ctx.actor, await this.row(repo.id)), jobs };
  }

  /** Removes the repository: its folders go and each instance restarts without them. */
  async remove(ctx: RequestContext, id: string, submit: SubmitUpdate): Promise<OperationView[]> {
    const repo = await this.get(ctx.actor, id);
    await requireRepositoryManage(this.deps.db, ctx.actor, repo, 'Repository');
    const instances = await projectInstances(this.deps.db, repo.project_id);
    for (const instance of instances) await this.deps.instances.requireIdle(instance);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('repositories').where('id', '=', repo.id).execute();
      await this.deps.audit.record(
        ctx,
        {
          action: 'repository.delete',
          organizationId: repo.organization_id,
          target: { type: 'repository', id: repo.id, label: repo.name },
          details: { url: repo.url },
        },
        trx,
      );
    });
    const jobs: OperationView[] = [];
    for (const instance of instances) jobs.push(await submit(ctx, instance, 'addons.reconfigure', {}));
    return jobs;
  }

  /** "Pull": an update job per instance (or the one named), each with its backup and rollback. */
  async pull(
    ctx: RequestContext,
    id: string,
    input: { instanceId?: unknown },
    submit: SubmitUpdate,
  ): Promise<OperationView[]> {
    const repo = await this.get(ctx.actor, id);
    let instances = await projectInstances(this.deps.db, repo.project_id);
    if (input.instanceId !== undefined) {
      instances = instances.filter((i) => i.id === input.instanceId);
      if (instances.length === 0) throw invalid('instanceId', "That instance is not part of the repository's project.");
    }
    await requireRepositoryManage(
      this.deps.db,
      ctx.actor,
      repo,
      'Repository',
      input.instanceId ? instances[0] : undefined,
    );
    if (instances.length === 0)
      throw new MarinaError('MARINA_E_NO_INSTANCE_TO_UPDATE', 'The project has no instance to update yet.');
    const jobs: OperationView[] = [];
    for (const instance of instances) {
      await this.ensureCheckout(repo, instance);
      const job = await submit(ctx, instance, 'repository.update', { repositoryId: repo.id, reason: 'pull' });
      await this.recordCheckout(repo.id, instance.id, { last_operation_id: job.id });
      jobs.push(job);
    }
    return jobs;
  }

  /** The repository a push hook's token names, or undefined. */
  async byHookToken(token: string): Promise<Repository | undefined> {
    if (!/^[A-Za-z0-9_-]{16,100}$/.test(token)) return undefined;
    return this.deps.db
      .selectFrom('repositories')
      .selectAll()
      .where('hook_token_hash', '=', hashToken(token))
      .executeTakeFirst();
  }

  hookSecret(repo: Repository): string {
    return this.deps.box.open(repo.hook_secret, sealedAt('repositories', 'hook_secret', repo.id));
  }

  /** The instances whose checkout follows a pushed branch. */
  async instancesOnBranch(repo: Repository, branch: string): Promise<Instance[]> {
    const instances = await projectInstances(this.deps.db, repo.project_id);
    const checkouts = await this.deps.db
      .selectFrom('repository_checkouts')
      .select(['instance_id', 'branch'])
      .where('repository_id', '=', repo.id)
      .execute();
    return instances.filter((i) => (checkouts.find((c) => c.instance_id === i.id)?.branch ?? repo.branch) === branch);
  }

  async repositoriesOfProject(projectId: string): Promise<Repository[]> {
    return this.deps.db
      .selectFrom('repositories')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('name')
      .execute();
  }
}
