import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Static } from 'typebox';
import { type Git, hostKeyFingerprints } from '../../adapters/git/git.js';
import type { Db } from '../../db/database.js';
import type { Repository } from '../../db/schema.js';
import type { Actor } from '../../platform/context.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { Checkouts } from './checkouts.js';
import { mayManageRepository } from './repository-access.js';
import type { Checkout, Repository as RepositorySchema } from './schemas.js';

/** An instance's checkout of a repository (the `Checkout` schema). */
export type CheckoutView = Static<typeof Checkout>;

/** A repository as the API shows it (the `Repository` schema). */
export type RepositoryView = Static<typeof RepositorySchema>;

export interface RepositoryViewDeps {
  db: Db;
  box: SecretBox;
  git: Git;
  checkouts: Checkouts;
  publicUrl: string;
}

/**
 * A repository as the API shows it; the hook's URL and secret only to those who may manage it on
 * every instance a push reaches (an admin once the project has a production instance).
 */
export async function repositoryView(
  deps: RepositoryViewDeps,
  actor: Actor,
  repo: Repository,
  withGit = false,
): Promise<RepositoryView> {
  const admin = await mayManageRepository(deps.db, actor, repo);
  const rows = await deps.db
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
      const dir = deps.checkouts.checkoutDir(row.instance_id, repo.name);
      view.git = null;
      view.commits = [];
      if (row.commit !== null && existsSync(join(dir, '.git'))) {
        view.git = await deps.git.status(dir, row.branch).catch(() => null);
        view.commits = await deps.git.log(dir, 10).catch(() => []);
      }
    }
    checkouts.push(view);
  }
  const token = deps.box.open(repo.hook_token, sealedAt('repositories', 'hook_token', repo.id));
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
          url: `${deps.publicUrl.replace(/\/$/, '')}/api/v1/hooks/git/${token}`,
          secret: deps.box.open(repo.hook_secret, sealedAt('repositories', 'hook_secret', repo.id)),
        }
      : null,
    checkouts,
    createdBy: repo.created_by,
    createdAt: repo.created_at.toISOString(),
  };
}
