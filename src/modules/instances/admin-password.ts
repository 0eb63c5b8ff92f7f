import type pg from 'pg';
import type { Static } from 'typebox';
import { withClient } from '../../adapters/postgres/admin.js';
import type { Db } from '../../db/database.js';
import type { AdminPasswordSource, Instance } from '../../db/schema.js';
import { odooPasswordHash } from '../../odoo/password.js';
import { odooPasswordMatches } from '../../odoo/password-verify.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { randomSecret } from '../../platform/secrets/secrets.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { CredentialsOrigin, RevealedCredentials } from './schemas.js';
import type { InstanceService } from './service.js';

/**
 * The administrator's credentials as Marina knows them, and the truth about them: a password Marina
 * generated or set (it works), or the users a copy brought (the database keeps its own; Marina
 * knows the password only when it checked one against the database's hash). "Reset admin password"
 * makes a password Marina knows, written the way Odoo writes it, as the instance's own role.
 */

export type RevealedCredentialsView = Static<typeof RevealedCredentials>;

/** What an instance's record says about its administrator; `password: null` is "not known". */
export interface AdminPasswordRecord {
  login: string;
  password: string | null;
  source: AdminPasswordSource;
  from: string | null;
  at: Date;
}

export function credentialsOrigin(
  i: Pick<
    Instance,
    'admin_password_source' | 'admin_password_from' | 'admin_password_at' | 'admin_password_known' | 'created_at'
  >,
): Static<typeof CredentialsOrigin> {
  const at = i.admin_password_at ?? (i.admin_password_source === 'generated' ? i.created_at : null);
  return {
    source: i.admin_password_source,
    from: i.admin_password_from,
    at: at?.toISOString() ?? null,
    passwordKnown: i.admin_password_known,
  };
}

/** Odoo's administrator: `base.user_admin`, uid 2 in every database Odoo creates. */
export const ODOO_ADMIN_UID = 2;

export interface OdooAdminUser {
  id: number;
  login: string;
  hash: string | null;
}

/**
 * The database's administrator: uid 2 when it is active, else the first active member of
 * Settings (`base.group_system`). Called inside a transaction: the rows stay locked until it ends,
 * so two resets cannot cross.
 */
export async function findAdminUser(c: pg.ClientBase): Promise<OdooAdminUser | undefined> {
  const row = (r: { id: number; login: string; password: string | null } | undefined) =>
    r ? { id: r.id, login: r.login, hash: r.password } : undefined;
  const byId = await c.query<{ id: number; login: string; password: string | null }>(
    'SELECT id, login, password FROM res_users WHERE id = $1 AND active FOR UPDATE',
    [ODOO_ADMIN_UID],
  );
  if (byId.rows[0]) return row(byId.rows[0]);
  // A database whose tables differ (no groups) has no other administrator Marina can tell.
  await c.query('SAVEPOINT marina_admin_lookup');
  try {
    const bySettings = await c.query<{ id: number; login: string; password: string | null }>(
      `SELECT u.id, u.login, u.password FROM res_users u
         JOIN res_groups_users_rel r ON r.uid = u.id
         JOIN ir_model_data d ON d.model = 'res.groups' AND d.module = 'base' AND d.name = 'group_system'
                             AND d.res_id = r.gid
        WHERE u.active AND u.id <> 1
        ORDER BY u.id LIMIT 1 FOR UPDATE OF u`,
    );
    await c.query('RELEASE SAVEPOINT marina_admin_lookup');
    return row(bySettings.rows[0]);
  } catch {
    await c.query('ROLLBACK TO SAVEPOINT marina_admin_lookup');
    return undefined;
  }
}

/** Where a copy's users came from, and the passwords Marina knew there (checked, never assumed). */
export interface CopyOrigin {
  source: Extract<AdminPasswordSource, 'copied' | 'imported'>;
  /** The instance (`project/name`), or the imported file's database name when known. */
  from: string | null;
  at: Date;
  /** Passwords that may open the copy's administrator (the source's, as Marina knew it then). */
  candidates: string[];
}

export interface CopyUsersDeps {
  databaseServers: Pick<DatabaseServerService, 'forInstance'>;
}

/**
 * After a copy is loaded, its users and passwords are the source's. What Marina records of them:
 * the copy's administrator login, and a password only when it opens that user's hash (the source's
 * password as Marina knew it, unchanged since); otherwise none, and Marina says it does not know it.
 * `db` is where the copy is loaded (read before the swap: checking a hash takes half a second).
 */
export async function usersOfCopy(
  deps: CopyUsersDeps,
  instance: Instance,
  db: string,
  origin: CopyOrigin,
): Promise<AdminPasswordRecord> {
  const admin = await withClient(await deps.databaseServers.forInstance(instance), db, async (c) => {
    await c.query('BEGIN');
    try {
      return await findAdminUser(c);
    } finally {
      await c.query('ROLLBACK');
    }
  });
  let password: string | null = null;
  for (const candidate of origin.candidates) {
    if (await odooPasswordMatches(candidate, admin?.hash ?? null)) {
      password = candidate;
      break;
    }
  }
  return {
    login: admin?.login ?? instance.admin_login,
    password,
    source: origin.source,
    from: origin.from,
    at: origin.at,
  };
}

export interface AdminPasswordServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  instances: InstanceService;
  databaseServers: Pick<DatabaseServerService, 'forInstance'>;
}

/** Reveal (audited) and reset (audited) of an instance's administrator credentials. */
export class AdminPasswordService {
  constructor(private readonly deps: AdminPasswordServiceDeps) {}

  private answer(instance: Instance): RevealedCredentialsView {
    const password = this.deps.box.open(instance.admin_password, sealedAt('instances', 'admin_password', instance.id));
    return {
      url: this.deps.instances.url(instance),
      login: instance.admin_login,
      // Empty is how an unknown password is recorded: it is said, never shown as a password.
      password: password === '' ? null : password,
      masterPassword: this.deps.box.open(
        instance.master_password,
        sealedAt('instances', 'master_password', instance.id),
      ),
      origin: credentialsOrigin(instance),
    };
  }

  /** Organization admins and platform admins may read the credentials again; it is audited. */
  async reveal(ctx: RequestContext, id: string): Promise<RevealedCredentialsView> {
    const instance = await this.deps.instances.get(ctx.actor, id);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'instance.credentials');
    await this.deps.audit.record(ctx, {
      action: 'instance.reveal_credentials',
      organizationId: instance.organization_id,
      target: await this.target(instance),
    });
    return this.answer(instance);
  }

  /**
   * Gives the database's administrator a new generated password, as Odoo stores one (pbkdf2-sha512),
   * written as the instance's own role; Marina records it, so Reveal then shows what works.
   */
  async reset(ctx: RequestContext, id: string): Promise<RevealedCredentialsView> {
    const instance = await this.deps.instances.get(ctx.actor, id);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'instance.credentials');
    if (instance.status === 'failed')
      throw new MarinaError('MARINA_E_INSTANCE_FAILED', 'This instance failed to provision; it has no users to reset.');
    await this.deps.instances.requireIdle(instance);
    const password = randomSecret(18);
    const hash = await odooPasswordHash(password);
    const connection = await this.deps.databaseServers.forInstance(instance);
    const updated = await withClient(connection, instance.db_name, async (c) => {
      await c.query('BEGIN');
      try {
        const admin = await findAdminUser(c);
        if (!admin) throw new MarinaError('MARINA_E_NO_ODOO_ADMIN');
        await c.query('UPDATE res_users SET password = $1 WHERE id = $2', [hash, admin.id]);
        // Recorded while the user's row is locked: a second reset waits, so the last one written
        // in the database is the last one recorded.
        const record = await this.deps.instances.recordAdminPassword(instance.id, {
          login: admin.login,
          password,
          source: 'reset',
          from: null,
          at: this.deps.clock.now(),
        });
        try {
          await c.query('COMMIT');
        } catch (error) {
          // The database kept the old password: Marina must not claim the new one.
          await this.deps.instances.recordAdminPassword(instance.id, { ...this.recordOf(record), password: null });
          throw error;
        }
        return { record, admin };
      } catch (error) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
    await this.deps.audit.record(ctx, {
      action: 'instance.reset_admin_password',
      organizationId: instance.organization_id,
      target: await this.target(instance),
      details: { login: updated.admin.login, odooUserId: updated.admin.id },
    });
    return this.answer(updated.record);
  }

  /** The audit trail names an instance `<project>/<instance>`. */
  private async target(instance: Instance) {
    const project = await this.deps.db
      .selectFrom('projects')
      .select('name')
      .where('id', '=', instance.project_id)
      .executeTakeFirstOrThrow();
    return { type: 'instance' as const, id: instance.id, label: `${project.name}/${instance.name}` };
  }

  private recordOf(i: Instance): AdminPasswordRecord {
    return {
      login: i.admin_login,
      password: null,
      source: i.admin_password_source,
      from: i.admin_password_from,
      at: i.admin_password_at ?? this.deps.clock.now(),
    };
  }
}
