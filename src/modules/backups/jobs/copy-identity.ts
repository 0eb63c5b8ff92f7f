import { randomUUID } from 'node:crypto';
import { withClient } from '../../../adapters/postgres/admin.js';
import type { Instance } from '../../../db/schema.js';
import { copyParameters } from '../../../odoo/backup-archive.js';
import { type OdooVersion, versionFacts } from '../../../odoo/versions.js';
import { MarinaError } from '../../../platform/errors.js';
import type { JobActivity } from '../../../platform/jobs/define.js';
import type { Runtime } from '../../../runtime/port.js';
import { runtimeOf } from '../../instances/jobs.js';
import { commandSpec, odooErrorLines } from '../../instances/odoo-container.js';
import { asRole, type DataPlane } from '../engine.js';
import { type BackupJobDeps, roleOf } from './shared.js';

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
): Promise<void> {
  const runtime = await runtimeOf(deps, instance);
  const facts = versionFacts(instance.odoo_version as OdooVersion);
  if (facts.neutralize) {
    const result = await engine.run(commandSpec(runtime.rt, instance, 'neutralize'));
    if (result.exitCode !== 0)
      throw new MarinaError(
        'MARINA_E_ODOO_COMMAND_FAILED',
        `odoo neutralize failed (exit code ${result.exitCode}):\n${odooErrorLines(result.output).join('\n')}`,
      );
    await job.log('odoo neutralize: done.');
  }
  await withClient(await deps.databaseServers.forInstance(instance), instance.db_name, async (c) => {
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
