import { databaseExists, withClient } from '../../adapters/postgres/admin.js';
import type { Instance } from '../../db/schema.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';

/**
 * Points Odoo's own links (mails, reports, the website) at the instance's public name:
 * `web.base.url`, frozen so that an administrator's first visit through another name does not
 * rewrite it. Written as the instance's own role, never the superuser: the tenant controls that
 * database and whatever triggers it planted there run with its rights only. An instance with no
 * database yet has nothing to write to.
 */
export async function writeBaseUrl(
  databaseServers: DatabaseServerService,
  instance: Pick<Instance, 'id' | 'database_server_id' | 'db_name' | 'db_password'>,
  url: string,
): Promise<boolean> {
  if (!instance.database_server_id) return false;
  // Asked in the maintenance database (adapters/postgres/admin): a failed instance has none to write to.
  const server = await databaseServers.get(instance.database_server_id);
  if (!(await databaseExists(await databaseServers.connection(server), instance.db_name))) return false;
  await withClient(await databaseServers.forInstance(instance), instance.db_name, async (db) => {
    await db.query('BEGIN');
    for (const [key, value] of [
      ['web.base.url', url],
      ['web.base.url.freeze', 'True'],
    ]) {
      await db.query(
        `INSERT INTO ir_config_parameter (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [key, value],
      );
    }
    await db.query('COMMIT');
  });
  return true;
}
