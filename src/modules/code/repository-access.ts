import type { Db } from '../../db/database.js';
import type { Instance, Repository } from '../../db/schema.js';
import type { Access } from '../../platform/access.js';
import type { Actor } from '../../platform/context.js';
import { requirePermission } from '../../platform/permissions.js';

/**
 * `repository.manage` over what a repository change reaches: the code runs on those instances (with
 * their database and master password), so one production instance among them makes it production's
 * call (an admin's); staging and development stay a developer's. Without `only`, the whole project:
 * every instance it has, whatever its state, since a failed or stopped one comes back with the code.
 */
export async function requireRepositoryManage(
  db: Db,
  actor: Actor,
  thing: { organization_id: string; project_id: string },
  what: string,
  only?: Pick<Instance, 'stage'>,
): Promise<Access> {
  const production = only
    ? only.stage === 'production'
    : (await db
        .selectFrom('instances')
        .select('id')
        .where('project_id', '=', thing.project_id)
        .where('stage', '=', 'production')
        .executeTakeFirst()) !== undefined;
  return requirePermission(
    db,
    actor,
    thing.organization_id,
    'repository.manage',
    production ? 'production' : undefined,
    what,
  );
}

/** The instances a project's repositories are checked out on (not those being deleted or failed). */
export function projectInstances(db: Db, projectId: string): Promise<Instance[]> {
  return db
    .selectFrom('instances')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('status', 'not in', ['deleting', 'failed'])
    .orderBy('name')
    .execute();
}

/** Whether the actor may see the push hook's URL and secret: a push updates every instance on the branch. */
export function mayManageRepository(db: Db, actor: Actor, repo: Repository): Promise<boolean> {
  return requireRepositoryManage(db, actor, repo, 'Repository').then(
    () => true,
    () => false,
  );
}
