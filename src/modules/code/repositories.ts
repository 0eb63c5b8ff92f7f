import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CheckoutStatus,
  type CommitInfo,
  type Git,
  type GitAccess,
  GitError,
  generateDeployKey,
  hostKeyFingerprints,
  type PinnedRemote,
  scanHostKeys,
} from '../../adapters/git/git.js';
import type { OutboundGuard } from '../../adapters/net/outbound.js';
import type { Db } from '../../db/database.js';
import type { Instance, Repository, RepositoryCheckout } from '../../db/schema.js';
import { requireAccess } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import type { OperationView } from '../../platform/jobs/operations.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { invalid, isUuid } from '../../platform/validation.js';
import { EXTRA_ADDONS } from '../instances/odoo-container.js';
import type { InstanceService } from '../instances/service.js';
import type { ProjectService } from '../projects/service.js';
import { requireOutbound } from '../settings/outbound-settings.js';
import type { GitSettingsService } from './git-settings.js';
import { confinedSubfolder, containerAddonsPaths } from './repo-paths.js';
import {
  parseRepoUrl,
  type RepoUrl,
  repoNameFromUrl,
  requireBranch,
  requireKnownHosts,
  requireRepoFolder,
  requireSubfolder,
} from './repo-validation.js';

export const updateSteps = ['fetch', 'changes', 'backup', 'upgrade', 'restart', 'health'] as const;
export const reconfigureSteps = ['checkout', 'restart', 'health'] as const;

export type UpdateReason = 'add' | 'pull' | 'hook' | 'branch' | 'provision';

export interface UpdateJobInput {
  repositoryId: string;
  reason: UpdateReason;
  /** The commit a push announced (shown in the log; the job always takes the branch's head). */
  after?: string | null;
}

export interface CheckoutView {
  instanceId: string;
  instanceName: string;
  stage: string;
  branch: string;
  commit: string | null;
  previousCommit: string | null;
  status: RepositoryCheckout['status'];
  error: string | null;
  addons: string[];
  lastJobId: string | null;
  updatedAt: string;
  /** Read from the folder (GET one repository only): HEAD, dirty, ahead/behind as last fetched. */
  git?: CheckoutStatus | null;
  commits?: CommitInfo[];
  /** Why asking the remote failed (GET with fetch only). */
  fetchError?: string | null;
}

export interface RepositoryView {
  id: string;
  organizationId: string;
  projectId: string;
  name: string;
  url: string;
  branch: string;
  subfolder: string;
  submodules: boolean;
  autoRestart: boolean;
  autoUpgrade: boolean;
  /** The public half of the deploy key: add it to the repository (read access is enough). */
  deployKey: string;
  /** SHA256 fingerprints of the pinned host keys (ssh URLs). */
  hostKeys: string[];
  /** Push-to-deploy: shown to organization admins only. */
  hook: { url: string; secret: string } | null;
  checkouts: CheckoutView[];
  createdBy: string;
  createdAt: string;
}

export interface NewRepositoryInput {
  url: unknown;
  branch: unknown;
  name?: unknown;
  subfolder?: unknown;
  submodules?: unknown;
  autoRestart?: unknown;
  autoUpgrade?: unknown;
  /** instance id → branch, for instances that do not follow the repository's branch. */
  branches?: unknown;
  knownHosts?: unknown;
}

export interface RepositoryChange {
  branch?: unknown;
  autoRestart?: unknown;
  autoUpgrade?: unknown;
  branches?: unknown;
}

function optionalBoolean(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(field, `${field} must be true or false.`);
  return value;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Submits one job on an instance (the instance service's queue, audit and busy rules). */
export type SubmitUpdate = (
  ctx: RequestContext,
  instance: Instance,
  kind: 'repository.update' | 'addons.reconfigure',
  input: Record<string, unknown>,
) => Promise<OperationView>;

/**
 * Git repositories of a project: each instance of the project has its own checkout, on its own
 * branch, in Marina's data folder, mounted read-only into its Odoo under /mnt/extra-addons/<name>.
 */
export class RepositoryService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly box: SecretBox,
    private readonly projects: ProjectService,
    private readonly instances: InstanceService,
    private readonly gitSettings: GitSettingsService,
    readonly git: Git,
    private readonly addonsRoot: string,
    private readonly publicUrl: string,
    /** Checks the remote's address before git or ssh-keyscan connects (adapters/net/outbound.ts). */
    private readonly guard: OutboundGuard,
  ) {}

  /** The checked address of a remote's host; file:// remotes have none. Refusals are MARINA_E_OUTBOUND_REFUSED. */
  async pinRemote(url: RepoUrl): Promise<PinnedRemote | undefined> {
    if (url.scheme === 'file' || url.host === null) return undefined;
    const port = url.port ?? (url.scheme === 'ssh' ? 22 : 443);
    const checked = await requireOutbound(this.guard, url.host, port);
    return { host: url.host, port, address: checked.address };
  }

  /** The folder holding one instance's checkout of a repository (the working tree, .git inside). */
  checkoutDir(instanceId: string, repositoryName: string): string {
    if (!isUuid(instanceId)) throw new Error(`not an instance id: ${instanceId}`);
    return join(this.addonsRoot, instanceId, requireRepoFolder(repositoryName));
  }

  instanceFolder(instanceId: string): string {
    if (!isUuid(instanceId)) throw new Error(`not an instance id: ${instanceId}`);
    return join(this.addonsRoot, instanceId);
  }

  async access(repo: Repository): Promise<GitAccess> {
    const url = parseRepoUrl(repo.url, { allowFile: true });
    let allowFile = false;
    if (url.scheme === 'file') {
      // Checked again at every use: the grant, the root or a symlink on the way may have changed.
      allowFile = await this.gitSettings
        .requireLocalRepository(repo.organization_id, url.path)
        .then(() => true)
        .catch(() => false);
    }
    const pinned = await this.pinRemote(url);
    return {
      ...(pinned ? { pinned } : {}),
      privateKey: this.box.open(repo.deploy_private_key, sealedAt('repositories', 'deploy_private_key', repo.id)),
      knownHosts: repo.known_hosts ?? undefined,
      allowFile,
    };
  }

  async row(id: string): Promise<Repository> {
    if (!isUuid(id)) throw notFound('Repository');
    const repo = await this.db.selectFrom('repositories').selectAll().where('id', '=', id).executeTakeFirst();
    if (!repo) throw notFound('Repository');
    return repo;
  }

  async get(actor: Actor, id: string): Promise<Repository> {
    const repo = await this.row(id);
    await requireAccess(this.db, actor, repo.organization_id, 'member', 'Repository');
    return repo;
  }

  async checkout(repositoryId: string, instanceId: string): Promise<RepositoryCheckout | undefined> {
    return this.db
      .selectFrom('repository_checkouts')
      .selectAll()
      .where('repository_id', '=', repositoryId)
      .where('instance_id', '=', instanceId)
      .executeTakeFirst();
  }

  /** The checkout row of an instance, made on first need (an instance created after the repository). */
  async ensureCheckout(repo: Repository, instance: Instance): Promise<RepositoryCheckout> {
    await this.db
      .insertInto('repository_checkouts')
      .values({ repository_id: repo.id, instance_id: instance.id, branch: repo.branch, updated_at: this.clock.now() })
      .onConflict((oc) => oc.columns(['repository_id', 'instance_id']).doNothing())
      .execute();
    return (await this.checkout(repo.id, instance.id)) as RepositoryCheckout;
  }

  async recordCheckout(
    repositoryId: string,
    instanceId: string,
    change: Partial<{
      commit: string | null;
      previous_commit: string | null;
      checksums: Record<string, string>;
      addons_paths: string[];
      root_is_addon: boolean;
      status: RepositoryCheckout['status'];
      error: string | null;
      last_operation_id: string | null;
    }>,
  ): Promise<void> {
    const { checksums, addons_paths, ...rest } = change;
    await this.db
      .updateTable('repository_checkouts')
      .set({
        ...rest,
        ...(checksums !== undefined ? { checksums: JSON.stringify(checksums) } : {}),
        ...(addons_paths !== undefined ? { addons_paths: JSON.stringify(addons_paths) } : {}),
        updated_at: this.clock.now(),
      })
      .where('repository_id', '=', repositoryId)
      .where('instance_id', '=', instanceId)
      .execute();
  }

  /** The checkouts mounted into an instance: those that exist on disk, with their addons_path entries. */
  async mountsOf(instance: Instance) {
    const rows = await this.db
      .selectFrom('repository_checkouts')
      .innerJoin('repositories', 'repositories.id', 'repository_checkouts.repository_id')
      .select([
        'repositories.name',
        'repositories.subfolder',
        'repository_checkouts.commit',
        'repository_checkouts.addons_paths',
        'repository_checkouts.root_is_addon',
      ])
      .where('repository_checkouts.instance_id', '=', instance.id)
      .orderBy('repositories.name')
      .execute();
    const mounts = [];
    for (const row of rows) {
      const dir = this.checkoutDir(instance.id, row.name);
      if (row.commit === null || !existsSync(join(dir, '.git'))) continue;
      // Checked again before every mount: a checkout made before this check existed may hold a link.
      await confinedSubfolder(dir, row.subfolder);
      const target = `${EXTRA_ADDONS}/${row.name}`;
      // The checkout itself is the bind source; the sub-folder is reached inside the container.
      const paths = containerAddonsPaths(target, row.subfolder, {
        paths: row.addons_paths,
        rootIsAddon: row.root_is_addon,
      });
      mounts.push({ source: dir, target, paths });
    }
    return mounts;
  }

  private async view(actor: Actor, repo: Repository, withGit = false): Promise<RepositoryView> {
    const admin = await requireAccess(this.db, actor, repo.organization_id, 'admin', 'Repository')
      .then(() => true)
      .catch(() => false);
    const rows = await this.db
      .selectFrom('repository_checkouts')
      .innerJoin('instances', 'instances.id', 'repository_checkouts.instance_id')
      .selectAll('repository_checkouts')
      .select(['instances.name as instance_name', 'instances.stage'])
      .where('repository_checkouts.repository_id', '=', repo.id)
      .orderBy('instances.name')
      .execute();
    const checkouts: CheckoutView[] = [];
    for (const row of rows) {
      const view: CheckoutView = {
        instanceId: row.instance_id,
        instanceName: row.instance_name,
        stage: row.stage,
        branch: row.branch,
        commit: row.commit,
        previousCommit: row.previous_commit,
        status: row.status,
        error: row.error,
        addons: Object.keys(row.checksums).sort(),
        lastJobId: row.last_operation_id,
        updatedAt: row.updated_at.toISOString(),
      };
      if (withGit) {
        const dir = this.checkoutDir(row.instance_id, repo.name);
        view.git = null;
        view.commits = [];
        if (row.commit !== null && existsSync(join(dir, '.git'))) {
          view.git = await this.git.status(dir, row.branch).catch(() => null);
          view.commits = await this.git.log(dir, 10).catch(() => []);
        }
      }
      checkouts.push(view);
    }
    const token = this.box.open(repo.hook_token, sealedAt('repositories', 'hook_token', repo.id));
    return {
      id: repo.id,
      organizationId: repo.organization_id,
      projectId: repo.project_id,
      name: repo.name,
      url: repo.url,
      branch: repo.branch,
      subfolder: repo.subfolder,
      submodules: repo.submodules,
      autoRestart: repo.auto_restart,
      autoUpgrade: repo.auto_upgrade,
      deployKey: repo.deploy_public_key,
      hostKeys: repo.known_hosts ? await hostKeyFingerprints(repo.known_hosts) : [],
      hook: admin
        ? {
            url: `${this.publicUrl.replace(/\/$/, '')}/api/v1/hooks/git/${token}`,
            secret: this.box.open(repo.hook_secret, sealedAt('repositories', 'hook_secret', repo.id)),
          }
        : null,
      checkouts,
      createdBy: repo.created_by,
      createdAt: repo.created_at.toISOString(),
    };
  }

  async list(actor: Actor, projectId: string): Promise<RepositoryView[]> {
    const project = await this.projects.get(actor, projectId);
    const repos = await this.db
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
      const checkouts = await this.db
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
    await this.audit.record(ctx, {
      action: 'repository.fetch',
      organizationId: view.organizationId,
      target: { type: 'repository', id: view.id, label: view.name },
      details: { checkouts: view.checkouts.length, failed },
    });
    return view;
  }

  private async instancesOf(projectId: string): Promise<Instance[]> {
    return this.db
      .selectFrom('instances')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('status', 'not in', ['deleting', 'failed'])
      .orderBy('name')
      .execute();
  }

  private requireBranches(value: unknown, instances: Instance[]): Map<string, string> {
    const map = new Map<string, string>();
    if (value === undefined) return map;
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw invalid('branches', 'branches maps instance ids to branch names.');
    for (const [instanceId, branch] of Object.entries(value)) {
      if (!instances.some((i) => i.id === instanceId))
        throw invalid('branches', `${instanceId.slice(0, 40)} is not an instance of this project.`);
      map.set(instanceId, requireBranch(branch, `branches.${instanceId}`));
    }
    return map;
  }

  /** Organization admins add repositories; every instance of the project gets a checkout and a restart. */
  async create(
    ctx: RequestContext,
    projectId: string,
    input: NewRepositoryInput,
    submit: SubmitUpdate,
  ): Promise<{ repository: RepositoryView; jobs: OperationView[] }> {
    const project = await this.projects.get(ctx.actor, projectId);
    await requireAccess(this.db, ctx.actor, project.organization_id, 'admin', 'Project');
    const fileRoot = await this.gitSettings.fileRootFor(project.organization_id);
    const url = parseRepoUrl(input.url, { allowFile: fileRoot !== null });
    if (url.scheme === 'file') await this.gitSettings.requireLocalRepository(project.organization_id, url.path);
    const branch = requireBranch(input.branch);
    const name = input.name === undefined ? repoNameFromUrl(url) : requireRepoFolder(input.name);
    const subfolder = input.subfolder === undefined ? '' : requireSubfolder(input.subfolder);
    const submodules = optionalBoolean(input.submodules, 'submodules', false);
    const autoRestart = optionalBoolean(input.autoRestart, 'autoRestart', true);
    const autoUpgrade = optionalBoolean(input.autoUpgrade, 'autoUpgrade', true);
    const instances = await this.instancesOf(project.id);
    const branches = this.requireBranches(input.branches, instances);
    let knownHosts: string | null = null;
    if (url.scheme === 'ssh') {
      if (input.knownHosts !== undefined) knownHosts = requireKnownHosts(input.knownHosts);
      else {
        // Trust on first use, shown to the user: later connections accept exactly these keys.
        const pinned = (await this.pinRemote(url)) as PinnedRemote;
        try {
          knownHosts = await scanHostKeys(pinned);
        } catch (error) {
          throw gitError(error);
        }
      }
    } else if (input.knownHosts !== undefined) {
      throw invalid('knownHosts', 'Host keys only apply to ssh URLs.');
    }
    // An https remote is checked now too: a refused address is said at once, not by a failed job
    // (a name that does not resolve yet is checked again before every git command).
    if (url.scheme === 'https' || (url.scheme === 'ssh' && input.knownHosts !== undefined))
      await this.pinRemote(url).catch((error: unknown) => {
        if (!(error instanceof MarinaError && error.details?.reason === 'dns')) throw error;
      });
    const clash = await this.db
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
    const now = this.clock.now();
    const repo = await this.db.transaction().execute(async (trx) => {
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
          deploy_private_key: this.box.seal(key.privateKey, sealedAt('repositories', 'deploy_private_key', id)),
          deploy_public_key: key.publicKey,
          known_hosts: knownHosts,
          hook_token_hash: hashToken(token),
          hook_token: this.box.seal(token, sealedAt('repositories', 'hook_token', id)),
          hook_secret: this.box.seal(secret, sealedAt('repositories', 'hook_secret', id)),
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
      await this.audit.record(
        ctx,
        {
          action: 'repository.create',
          organizationId: project.organization_id,
          target: { type: 'repository', id: created.id, label: `${project.name}/${name}` },
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
        // A busy instance gets its checkout from a pull later; the reason stays on the checkout.
        await this.recordCheckout(repo.id, instance.id, {
          status: 'failed',
          error: `Not cloned: ${(error as Error).message} Pull the repository once that job ended.`,
        });
      }
    }
    return { repository: await this.view(ctx.actor, repo), jobs };
  }

  async change(
    ctx: RequestContext,
    id: string,
    input: RepositoryChange,
    submit: SubmitUpdate,
  ): Promise<{ repository: RepositoryView; jobs: OperationView[] }> {
    const repo = await this.get(ctx.actor, id);
    await requireAccess(this.db, ctx.actor, repo.organization_id, 'admin', 'Repository');
    const instances = await this.instancesOf(repo.project_id);
    const branch = input.branch === undefined ? repo.branch : requireBranch(input.branch);
    const autoRestart = optionalBoolean(input.autoRestart, 'autoRestart', repo.auto_restart);
    const autoUpgrade = optionalBoolean(input.autoUpgrade, 'autoUpgrade', repo.auto_upgrade);
    const branches = this.requireBranches(input.branches, instances);
    const checkouts = await this.db
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
    for (const instance of moved) await this.instances.requireIdle(instance);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('repositories')
        .set({ branch, auto_restart: autoRestart, auto_upgrade: autoUpgrade, updated_at: this.clock.now() })
        .where('id', '=', repo.id)
        .execute();
      for (const { instance, current, wanted } of plan) {
        if (current === undefined) {
          await trx
            .insertInto('repository_checkouts')
            .values({ repository_id: repo.id, instance_id: instance.id, branch: wanted, updated_at: this.clock.now() })
            .execute();
        } else if (current.branch !== wanted) {
          await trx
            .updateTable('repository_checkouts')
            .set({ branch: wanted, updated_at: this.clock.now() })
            .where('repository_id', '=', repo.id)
            .where('instance_id', '=', instance.id)
            .execute();
        }
      }
      await this.audit.record(
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
    await requireAccess(this.db, ctx.actor, repo.organization_id, 'admin', 'Repository');
    const instances = await this.instancesOf(repo.project_id);
    for (const instance of instances) await this.instances.requireIdle(instance);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('repositories').where('id', '=', repo.id).execute();
      await this.audit.record(
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
    await requireAccess(this.db, ctx.actor, repo.organization_id, 'admin', 'Repository');
    let instances = await this.instancesOf(repo.project_id);
    if (input.instanceId !== undefined) {
      instances = instances.filter((i) => i.id === input.instanceId);
      if (instances.length === 0) throw invalid('instanceId', "That instance is not part of the repository's project.");
    }
    if (instances.length === 0)
      throw new MarinaError('MARINA_E_INVALID_STATE', 'The project has no instance to update yet.');
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
    return this.db
      .selectFrom('repositories')
      .selectAll()
      .where('hook_token_hash', '=', hashToken(token))
      .executeTakeFirst();
  }

  hookSecret(repo: Repository): string {
    return this.box.open(repo.hook_secret, sealedAt('repositories', 'hook_secret', repo.id));
  }

  /** The instances whose checkout follows a pushed branch. */
  async instancesOnBranch(repo: Repository, branch: string): Promise<Instance[]> {
    const instances = await this.instancesOf(repo.project_id);
    const checkouts = await this.db
      .selectFrom('repository_checkouts')
      .select(['instance_id', 'branch'])
      .where('repository_id', '=', repo.id)
      .execute();
    return instances.filter((i) => (checkouts.find((c) => c.instance_id === i.id)?.branch ?? repo.branch) === branch);
  }

  async repositoriesOfProject(projectId: string): Promise<Repository[]> {
    return this.db.selectFrom('repositories').selectAll().where('project_id', '=', projectId).orderBy('name').execute();
  }
}

/** A git failure, as users read it. */
export function gitError(error: unknown): MarinaError {
  if (error instanceof MarinaError) return error;
  if (error instanceof GitError) return new MarinaError('MARINA_E_GIT', error.message, { reason: error.reason });
  return new MarinaError('MARINA_E_GIT', (error as Error).message);
}
