import { randomUUID } from 'node:crypto';
import { withClient } from '../../../adapters/postgres/admin.js';
import type { Instance } from '../../../db/schema.js';
import { copyParameters } from '../../../odoo/backup-archive.js';
import { type OdooVersion, versionFacts } from '../../../odoo/versions.js';
import { MarinaError } from '../../../platform/errors.js';
import type { JobActivity } from '../../../platform/jobs/define.js';
import { sealedAt } from '../../../platform/secrets/sealed-columns.js';
import type { Runtime } from '../../../runtime/port.js';
import { type AdminPasswordRecord, type CopyOrigin, usersOfCopy } from '../../instances/admin-password.js';
import { runtimeOf } from '../../instances/jobs.js';
import { commandSpec, odooErrorLines } from '../../instances/odoo-container.js';
import { asRole, type DataPlane } from '../engine.js';
import { instanceLabel } from '../queries.js';
import { type BackupJobDeps, roleOf } from './shared.js';
import type { CloneInput, RestoreInput } from './specs.js';

/**
 * A copy is a new database: its own uuid, secret, creation date and URL (ARCHITECTURE.md). Written
 * as the instance's role: a trigger the tenant planted on ir_config_parameter runs with its rights.
 */
export async function giveOwnIdentity(
  deps: BackupJobDeps,
  plane: DataPlane,
  instance: Instance,
  db: string,
): Promise<void> {
  const params = copyParameters(deps.clock.now(), deps.instances.url(instance), randomUUID);
  await withClient(asRole(plane, await roleOf(deps, instance)), db, async (c) => {
    await c.query('BEGIN');
    for (const [key, value] of params) {
      await c.query(
        `INSERT INTO ir_config_parameter (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [key, value],
      );
    }
    await c.query('COMMIT');
  });
}

/**
 * Neutralizes a copy: Odoo's own `odoo neutralize` (16.0+), then Marina's step — every outgoing
 * mail server inactive, whatever neutralize added, so that a copy can never mail real customers.
 */
export async function neutralize(
  deps: BackupJobDeps,
  engine: Runtime,
  instance: Instance,
  job: Pick<JobActivity, 'log'>,
  /** The copy's database: neutralized where it was loaded, before it replaces anything. */
  db: string = instance.db_name,
): Promise<void> {
  const runtime = await runtimeOf(deps, instance);
  const facts = versionFacts(instance.odoo_version as OdooVersion);
  if (facts.neutralize) {
    const result = await engine.run(commandSpec(runtime.rt, instance, 'neutralize', db));
    if (result.exitCode !== 0)
      throw new MarinaError(
        'MARINA_E_ODOO_COMMAND_FAILED',
        `odoo neutralize failed (exit code ${result.exitCode}):\n${odooErrorLines(result.output).join('\n')}`,
      );
    await job.log('odoo neutralize: done.');
  }
  await withClient(await deps.databaseServers.forInstance(instance), db, async (c) => {
    await c.query('BEGIN');
    const mail = await c.query('UPDATE ir_mail_server SET active = false WHERE active');
    if (!facts.neutralize) {
      await c.query(
        "UPDATE ir_cron SET active = false WHERE id NOT IN (SELECT res_id FROM ir_model_data WHERE model = 'ir.cron' AND module = 'base' AND name = 'autovacuum_job')",
      );
    }
    await c.query(
      `INSERT INTO ir_config_parameter (key, value) VALUES ('database.is_neutralized', 'True')
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    );
    await c.query('COMMIT');
    await job.log(`Outgoing mail servers deactivated: ${mail.rowCount ?? 0}.`);
  });
}

/** The password Marina knows for an instance now, if any (empty is how "not known" is recorded). */
function knownPassword(deps: BackupJobDeps, instance: Instance): string[] {
  const password = deps.box.open(instance.admin_password, sealedAt('instances', 'admin_password', instance.id));
  return password === '' ? [] : [password];
}

/**
 * Where a copy's users come from: the cloned instance at the clone's snapshot, the instance a
 * backup was taken of at its time, or the imported file. The source's password (as Marina knows
 * it) is only a candidate: usersOfCopy keeps it only if it opens the copy's administrator.
 */
async function originOfCopy(
  deps: BackupJobDeps,
  input: RestoreInput | CloneInput,
  copiedAt: Date,
): Promise<CopyOrigin> {
  const db = deps.backups.database;
  if ('sourceId' in input) {
    const source = await deps.instances.row(input.sourceId);
    return {
      source: 'copied',
      from: await instanceLabel(db, source),
      at: copiedAt,
      candidates: knownPassword(deps, source),
    };
  }
  const backup = await deps.backups.row(input.backupId);
  if (backup.trigger === 'import') {
    const dbName = backup.manifest?.db_name;
    return {
      source: 'imported',
      from: typeof dbName === 'string' && dbName !== '' ? dbName : null,
      at: backup.created_at,
      candidates: [],
    };
  }
  const source = backup.instance_id ? await deps.instances.row(backup.instance_id).catch(() => undefined) : undefined;
  return {
    source: 'copied',
    from: backup.instance_label,
    at: backup.created_at,
    candidates: source ? knownPassword(deps, source) : [],
  };
}

/**
 * The copy's administrator and where its users come from, read where the copy is loaded (`db`)
 * before the swap, beside neutralize: a password is kept only if it opens that user's hash.
 */
export async function usersOfLoadedCopy(
  deps: BackupJobDeps,
  instance: Instance,
  input: RestoreInput | CloneInput,
  copiedAt: Date,
  db: string,
): Promise<AdminPasswordRecord> {
  return usersOfCopy(deps, instance, db, await originOfCopy(deps, input, copiedAt));
}

/**
 * After a copy is swapped in, the instance's users are the copy's: Marina records the copy's
 * administrator and where the users come from, and shows a password only if it knows one that works.
 */
export async function recordCopyUsers(
  deps: BackupJobDeps,
  instance: Instance,
  users: AdminPasswordRecord,
  job: Pick<JobActivity, 'log'>,
): Promise<void> {
  const known = await deps.instances.recordAdminPassword(instance.id, users);
  const password = deps.box.open(known.admin_password, sealedAt('instances', 'admin_password', known.id));
  await job.log(
    password === ''
      ? `The copy keeps its own users (administrator ${known.admin_login}); Marina does not know its password: reset it to get one.`
      : `The copy keeps its own users; the administrator ${known.admin_login} has the source's password, as Marina knew it.`,
  );
}
