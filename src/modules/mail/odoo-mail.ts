import type { ServerConnection } from '../../adapters/postgres/admin.js';
import { withClient } from '../../adapters/postgres/admin.js';

/** One outgoing server as Odoo's `ir_mail_server` holds it. */
export interface OdooMailServer {
  host: string;
  port: number;
  encryption: 'none' | 'starttls' | 'ssl';
  user: string | null;
  password: string | null;
}

/** What Marina writes into an instance's Odoo about mail. */
export interface OdooMailSettings {
  /** The one active outgoing server (named "Marina"); null leaves Odoo's servers alone. */
  server: OdooMailServer | null;
  /** The host name its addresses follow (mail.catchall.domain, mail.default.from); null: unchanged. */
  hostname: string | null;
}

/** The name of Marina's row in ir_mail_server: found again by it, the others deactivated. */
export const MARINA_SERVER_NAME = 'Marina';

/**
 * Writes the outgoing mail server and the mail domain into an instance's database, as the
 * instance's own role (the tenant controls that database: nothing there runs as superuser). Odoo
 * 14 has no `smtp_authentication` or `from_filter`: only the columns the table has are written.
 */
export async function writeOdooMail(
  connection: ServerConnection,
  database: string,
  settings: OdooMailSettings,
): Promise<{ deactivated: number }> {
  return withClient(connection, database, async (db) => {
    await db.query('BEGIN');
    let deactivated = 0;
    if (settings.server) {
      const columns = new Set(
        (
          await db.query<{ column_name: string }>(
            `SELECT column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'ir_mail_server'`,
          )
        ).rows.map((r) => r.column_name),
      );
      const { host, port, encryption, user, password } = settings.server;
      const values: Record<string, unknown> = {
        name: MARINA_SERVER_NAME,
        smtp_host: host,
        smtp_port: port,
        smtp_encryption: encryption,
        smtp_user: user,
        smtp_pass: password,
        active: true,
        sequence: 1,
        ...(columns.has('smtp_authentication') ? { smtp_authentication: 'login' } : {}),
        ...(columns.has('from_filter') ? { from_filter: null } : {}),
        ...(columns.has('smtp_debug') ? { smtp_debug: false } : {}),
        ...(columns.has('write_date') ? { write_date: new Date() } : {}),
      };
      const names = Object.keys(values);
      const existing = await db.query<{ id: number }>(
        'SELECT id FROM ir_mail_server WHERE name = $1 ORDER BY id LIMIT 1',
        [MARINA_SERVER_NAME],
      );
      let id = existing.rows[0]?.id;
      if (id === undefined) {
        const inserted = await db.query<{ id: number }>(
          `INSERT INTO ir_mail_server (${names.map((n) => `"${n}"`).join(', ')})
           VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
          Object.values(values),
        );
        id = inserted.rows[0]?.id;
      } else {
        await db.query(
          `UPDATE ir_mail_server SET ${names.map((n, i) => `"${n}" = $${i + 1}`).join(', ')} WHERE id = $${names.length + 1}`,
          [...Object.values(values), id],
        );
      }
      const others = await db.query('UPDATE ir_mail_server SET active = false WHERE active AND id <> $1', [id]);
      deactivated = others.rowCount ?? 0;
    }
    if (settings.hostname) {
      for (const [key, value] of [
        ['mail.catchall.domain', settings.hostname],
        ['mail.default.from', `notifications@${settings.hostname}`],
      ]) {
        await db.query(
          `INSERT INTO ir_config_parameter (key, value) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
          [key, value],
        );
      }
    }
    // A running Odoo caches its parameters: moving its cache signal makes every worker read them again.
    const signals = await db.query<{ name: string }>(
      `SELECT sequence_name AS name FROM information_schema.sequences
       WHERE sequence_schema = current_schema() AND sequence_name LIKE 'base\\_cache\\_signaling%'`,
    );
    for (const { name } of signals.rows) await db.query('SELECT nextval($1::regclass)', [name]);
    await db.query('COMMIT');
    return { deactivated };
  });
}
