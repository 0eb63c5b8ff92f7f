import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { recordAudit } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { SEALED_COLUMNS, type SealedTable, SMTP_PASSWORD_AT } from './sealed-columns.js';
import { SecretBox } from './secret-box.js';

/** Serializes the re-seal between processes starting together (the server, a CLI command). */
const LOCK = 0x6d72_6e76; // "mrnv"

/**
 * Re-seals every v1 value (one key for all, no row binding) as v2, bound to its table, column and
 * row. It needs the key, which migrations do not have, so it runs at start-up right after them, in
 * one transaction: either every value moves or none does. Once nothing is left in v1 it finds
 * nothing to do; `SecretBox.open` never accepts v1. Returns how many values it re-sealed.
 */
export async function resealLegacySecrets(db: Db, box: SecretBox, clock: Clock): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${LOCK})`.execute(trx);
    let count = 0;
    const tables: Record<string, number> = {};
    for (const [table, columns] of Object.entries(SEALED_COLUMNS) as [SealedTable, readonly string[]][]) {
      const legacy = sql.join(
        columns.map((c) => sql`${sql.ref(c)} like 'v1.%'`),
        sql` or `,
      );
      const { rows } = await sql<Record<string, string | null>>`
        select id, ${sql.join(columns.map((c) => sql.ref(c)))} from ${sql.table(table)}
        where ${legacy} for update`.execute(trx);
      for (const row of rows) {
        const id = row.id as string;
        const changes = columns.flatMap((column) => {
          const value = row[column];
          if (typeof value !== 'string' || !SecretBox.isLegacy(value)) return [];
          return [sql`${sql.ref(column)} = ${box.seal(reopen(box, value, table, column), { table, column, row: id })}`];
        });
        await sql`update ${sql.table(table)} set ${sql.join(changes)} where id = ${id}`.execute(trx);
        count += changes.length;
        tables[table] = (tables[table] ?? 0) + changes.length;
      }
    }
    const smtp = await trx
      .selectFrom('settings')
      .select('value')
      .where('key', '=', SMTP_PASSWORD_AT.row)
      .forUpdate()
      .executeTakeFirst();
    const password = smtp?.value.password;
    if (smtp && typeof password === 'string' && SecretBox.isLegacy(password)) {
      const value = { ...smtp.value, password: box.seal(reopen(box, password, 'settings', 'smtp'), SMTP_PASSWORD_AT) };
      await trx
        .updateTable('settings')
        .set({ value: JSON.stringify(value) })
        .where('key', '=', SMTP_PASSWORD_AT.row)
        .execute();
      count += 1;
      tables.settings = 1;
    }
    if (count > 0)
      await recordAudit(
        trx,
        clock,
        { actor: { kind: 'system', label: 'start-up' }, ip: null },
        // Where, never what: counts per table.
        { action: 'platform.reseal_secrets', details: { count, tables } },
      );
    return count;
  });
}

function reopen(box: SecretBox, value: string, table: string, column: string): string {
  try {
    return box.openLegacy(value);
  } catch (error) {
    throw new Error(
      `Cannot re-seal the stored secrets (${table}.${column}): ${(error as Error).message}. Start Marina with the MARINA_SECRET_KEY or key file these were sealed with.`,
    );
  }
}
