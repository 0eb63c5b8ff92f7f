import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../db/database.js';
import type { Instance, Repository, RepositoryCheckout } from '../../db/schema.js';
import type { Clock } from '../../platform/clock.js';
import { isUuid } from '../../platform/validation.js';
import { EXTRA_ADDONS } from '../instances/odoo-container.js';
import { confinedSubfolder, containerAddonsPaths } from './repo-paths.js';
import { requireRepoFolder } from './repo-validation.js';

export interface CheckoutsDeps {
  db: Db;
  clock: Clock;
  /** Marina's folder of checkouts: one folder per instance, one per repository inside. */
  addonsRoot: string;
}

/** Each instance's checkouts of its project's repositories: their folders, records and mounts. */
export class Checkouts {
  constructor(private readonly deps: CheckoutsDeps) {}

  /** The folder holding one instance's checkout of a repository (the working tree, .git inside). */
  checkoutDir(instanceId: string, repositoryName: string): string {
    if (!isUuid(instanceId)) throw new Error(`not an instance id: ${instanceId}`);
    return join(this.deps.addonsRoot, instanceId, requireRepoFolder(repositoryName));
  }

  instanceFolder(instanceId: string): string {
    if (!isUuid(instanceId)) throw new Error(`not an instance id: ${instanceId}`);
    return join(this.deps.addonsRoot, instanceId);
  }

  async checkout(repositoryId: string, instanceId: string): Promise<RepositoryCheckout | undefined> {
    return this.deps.db
      .selectFrom('repository_checkouts')
      .selectAll()
      .where('repository_id', '=', repositoryId)
      .where('instance_id', '=', instanceId)
      .executeTakeFirst();
  }

  /** The checkout row of an instance, made on first need (an instance created after the repository). */
  async ensureCheckout(repo: Repository, instance: Instance): Promise<RepositoryCheckout> {
    await this.deps.db
      .insertInto('repository_checkouts')
      .values({
        repository_id: repo.id,
        instance_id: instance.id,
        branch: repo.branch,
        updated_at: this.deps.clock.now(),
      })
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
    await this.deps.db
      .updateTable('repository_checkouts')
      .set({
        ...rest,
        ...(checksums !== undefined ? { checksums: JSON.stringify(checksums) } : {}),
        ...(addons_paths !== undefined ? { addons_paths: JSON.stringify(addons_paths) } : {}),
        updated_at: this.deps.clock.now(),
      })
      .where('repository_id', '=', repositoryId)
      .where('instance_id', '=', instanceId)
      .execute();
  }

  /** The checkouts mounted into an instance: those that exist on disk, with their addons_path entries. */
  async mountsOf(instance: Instance) {
    const rows = await this.deps.db
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
}
