import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { invalid, isUuid } from '../../platform/validation.js';
import { saveSetting } from '../settings/setting-rows.js';
import type { GitSettings as GitSettingsSchema } from './schemas.js';

const KEY = 'git';

/** The git settings as the API answers them (the `GitSettings` schema). */
export type GitSettings = Static<typeof GitSettingsSchema>;

/** Whether `path` is `root` or below it (both real paths). */
function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

async function real(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch {
    return null;
  }
}

export interface GitSettingsServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  /** Marina's own folders (checkouts, backups): a root holding them would hand out other tenants' files. */
  protectedDirs: string[];
}

/**
 * Local repositories: a folder of Marina's own machine is readable by whoever may clone from it,
 * so file:// needs both a root folder a platform admin names and a grant to the organization.
 */
export class GitSettingsService {
  constructor(private readonly deps: GitSettingsServiceDeps) {}

  private async root(): Promise<string | null> {
    const row = await this.deps.db.selectFrom('settings').select('value').where('key', '=', KEY).executeTakeFirst();
    const root = row?.value.fileRoot;
    return typeof root === 'string' && isAbsolute(root) ? root : null;
  }

  async get(actor: Actor): Promise<GitSettings> {
    requirePlatformAdmin(actor);
    const allowed = await this.deps.db
      .selectFrom('organizations')
      .select('id')
      .where('allow_file_repositories', '=', true)
      .orderBy('slug')
      .execute();
    return { fileRoot: await this.root(), fileRepositoryOrganizations: allowed.map((o) => o.id) };
  }

  async set(ctx: RequestContext, input: { fileRoot?: unknown }): Promise<GitSettings> {
    requirePlatformAdmin(ctx.actor);
    const fileRoot = input.fileRoot === undefined || input.fileRoot === '' ? null : input.fileRoot;
    let stored: string | null = null;
    if (fileRoot !== null) {
      if (
        typeof fileRoot !== 'string' ||
        !isAbsolute(fileRoot) ||
        fileRoot.length > 500 ||
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
        /[\x00-\x1f\x7f]/.test(fileRoot)
      )
        throw invalid('fileRoot', 'fileRoot is an absolute folder path such as /srv/git, or null.');
      const resolved = await real(fileRoot);
      if (!resolved || !(await stat(resolved)).isDirectory())
        throw invalid('fileRoot', `${fileRoot} is not an existing folder on Marina's machine.`);
      if (resolved === sep)
        throw invalid('fileRoot', 'The root folder cannot be / itself: name the folder of the repositories.');
      for (const dir of this.deps.protectedDirs) {
        const own = (await real(dir)) ?? dir;
        if (inside(own, resolved) || inside(resolved, own))
          throw invalid(
            'fileRoot',
            `${fileRoot} holds or is inside Marina's own folder ${own} (checkouts, backups): choose a folder of repositories only.`,
          );
      }
      stored = resolved;
    }
    await saveSetting(
      { db: this.deps.db, audit: this.deps.audit, clock: this.deps.clock },
      ctx,
      KEY,
      { fileRoot: stored },
      {
        action: 'settings.update',
        target: { type: 'settings', id: KEY, label: 'Git' },
        details: { fileRoot: stored },
      },
    );
    return this.get(ctx.actor);
  }

  /** Grants or withdraws file:// repositories for one organization (platform admins). */
  async setOrganization(ctx: RequestContext, organizationId: string, allowed: unknown): Promise<boolean> {
    requirePlatformAdmin(ctx.actor);
    if (typeof allowed !== 'boolean')
      throw invalid('allowFileRepositories', 'allowFileRepositories must be true or false.');
    if (!isUuid(organizationId)) throw notFound('Organization');
    const org = await this.deps.db
      .selectFrom('organizations')
      .select(['id', 'slug'])
      .where('id', '=', organizationId)
      .executeTakeFirst();
    if (!org) throw notFound('Organization');
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('organizations')
        .set({ allow_file_repositories: allowed })
        .where('id', '=', org.id)
        .execute();
      await this.deps.audit.record(
        ctx,
        {
          action: 'organization.set_file_repositories',
          organizationId: org.id,
          target: { type: 'organization', id: org.id, label: org.slug },
          details: { allowFileRepositories: allowed },
        },
        trx,
      );
    });
    return allowed;
  }

  /** The root this organization's file:// repositories must be inside, or null when it may use none. */
  async fileRootFor(organizationId: string): Promise<string | null> {
    const org = await this.deps.db
      .selectFrom('organizations')
      .select('allow_file_repositories')
      .where('id', '=', organizationId)
      .executeTakeFirst();
    if (!org?.allow_file_repositories) return null;
    return this.root();
  }

  /**
   * The real path of a local repository, refused unless it is inside the organization's root: a
   * symlink or `..` leading out of the root is followed before it is judged.
   */
  async requireLocalRepository(organizationId: string, path: string, field = 'url'): Promise<string> {
    const root = await this.fileRootFor(organizationId);
    if (!root)
      throw invalid(
        field,
        'Local repositories (file:// URLs) are not allowed for this organization: a platform admin allows them per organization, under one root folder.',
      );
    const resolved = await real(path);
    const realRoot = (await real(root)) ?? root;
    if (!resolved) throw invalid(field, `There is no folder ${path} on Marina's machine.`);
    if (!inside(resolved, realRoot))
      throw new MarinaError('MARINA_E_VALIDATION', `Local repositories must be inside ${realRoot}; ${path} is not.`, {
        field,
      });
    return resolved;
  }
}
