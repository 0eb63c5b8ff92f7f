import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { identifier, type ServerConnection, secretLiteral, withClient, withSuperuser } from './admin.js';

/**
 * Logical replication of one tenant database from one server to another (a move between nodes):
 * the data is copied while Odoo serves, and only what changed since is applied once it stops.
 *
 * Who runs what, because the tenant controls its database (triggers, functions, policies):
 * - the publication is made by the tenant's own role, in its database (it owns the tables);
 * - the publisher's connection role is a member of the tenant's role, with REPLICATION, a
 *   password only Marina knows and a short validity; it is dropped right after;
 * - the slot is made by that publisher role;
 * - the subscription must be created by a superuser in PostgreSQL 15: it is, in the target database
 *   while that is still empty, without connecting; its owner, a member of the tenant's role, then
 *   loses superuser and does everything else. The apply and the initial copy run as that owner, so
 *   a tenant's trigger on the target runs with the tenant's rights, never more.
 */

const HOST = /^[a-z0-9][a-z0-9.-]{0,252}$/i;
/** An LSN as PostgreSQL prints it. */
const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;
const CATALOG_ONLY = '-c search_path=pg_catalog';
/** A checked identifier, unquoted (for a connection string or a slot's name). */
const bare = (name: string) => identifier(name).slice(1, -1);

export async function walLevel(server: ServerConnection): Promise<string> {
  return withSuperuser(
    server,
    async (c) => (await c.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level ?? '',
  );
}

/**
 * A login role that is a member of `tenantRole`: on the publisher with REPLICATION (its connection),
 * on the subscriber first as superuser (only a superuser may create a subscription in PostgreSQL 15).
 */
export async function createReplicationRole(
  server: ServerConnection,
  name: string,
  password: string,
  tenantRole: string,
  kind: 'publisher' | 'subscriber',
): Promise<void> {
  const validUntil = new Date(Date.now() + 24 * 3600_000).toISOString();
  const rights = kind === 'publisher' ? `REPLICATION CONNECTION LIMIT 8 VALID UNTIL '${validUntil}'` : 'SUPERUSER';
  await withSuperuser(server, async (c) => {
    await c.query(
      `CREATE ROLE ${identifier(name)} LOGIN ${rights} PASSWORD ${secretLiteral(password)} IN ROLE ${identifier(tenantRole)}`,
    );
  });
}

/** A role of a replication: its sessions end first; absent is fine. */
export async function dropReplicationRole(server: ServerConnection, name: string): Promise<void> {
  await withSuperuser(server, async (c) => {
    await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [name]);
    await c.query(`DROP ROLE IF EXISTS ${identifier(name)}`);
  });
}

/** Whether the tenant's role may open sessions on this server (kept out of a copy being filled). */
export async function setLogin(server: ServerConnection, role: string, login: boolean): Promise<void> {
  await withSuperuser(server, (c) => setLoginIn(c, role, login));
}

/** setLogin in a superuser's session of the maintenance database that is already open. */
export async function setLoginIn(admin: pg.ClientBase, role: string, login: boolean): Promise<void> {
  await admin.query(`ALTER ROLE ${identifier(role)} ${login ? 'LOGIN' : 'NOLOGIN'}`);
  if (!login) await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
}

/**
 * Why a database cannot be replicated table by table (empty when it can): each reason would lose
 * data or stop the tenant's writes while the publication exists, or run the tenant's code as the
 * replication's role.
 */
export async function replicationBlockers(tenant: pg.ClientBase): Promise<string[]> {
  const { rows } = await tenant.query<{ reason: string }>(`
    SELECT format('%s %I.%I', CASE
        WHEN c.relkind = 'p' THEN 'partitioned table'
        WHEN c.relpersistence <> 'p' THEN 'unlogged table'
        WHEN c.relrowsecurity OR c.relforcerowsecurity THEN 'row-level security on'
        ELSE 'no primary key or replica identity on' END, n.nspname, c.relname) AS reason
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname <> ALL (ARRAY['pg_catalog', 'information_schema'])
       AND n.nspname !~ '^pg_(temp|toast)'
       AND (c.relkind = 'p' OR c.relpersistence <> 'p' OR c.relrowsecurity OR c.relforcerowsecurity
            OR c.relreplident = 'n'
            OR (c.relreplident = 'd' AND NOT EXISTS (
                  SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
    UNION ALL
    SELECT 'large objects' FROM pg_catalog.pg_largeobject_metadata HAVING count(*) > 0
    LIMIT 5`);
  return rows.map((r) => r.reason);
}

/** The tenant's role publishes all its tables; false when it has none. */
export async function createPublication(tenant: pg.ClientBase, name: string): Promise<boolean> {
  const { rows } = await tenant.query<{ ddl: string | null }>(
    `SELECT format('CREATE PUBLICATION %I FOR TABLE %s', $1::text, string_agg(format('%I.%I', n.nspname, c.relname), ', ')) AS ddl
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname <> ALL (ARRAY['pg_catalog', 'information_schema'])
        AND n.nspname !~ '^pg_(temp|toast)'
     HAVING count(*) > 0`,
    [bare(name)],
  );
  const ddl = rows[0]?.ddl;
  if (!ddl) return false;
  await tenant.query(ddl);
  return true;
}

export async function dropPublication(tenant: pg.ClientBase, name: string): Promise<void> {
  await tenant.query(`DROP PUBLICATION IF EXISTS ${identifier(name)}`);
}

/**
 * A digest of the database's schema: a row of the catalogs changes its xmin with any DDL (VACUUM and
 * ANALYZE update them in place), so two equal digests mean no table, column, index, constraint,
 * trigger, function, view, type or publication changed in between. DDL is not replicated.
 */
export async function schemaDigest(tenant: pg.ClientBase): Promise<string> {
  const { rows } = await tenant.query<{ digest: string }>(`
    WITH ns AS (SELECT oid FROM pg_catalog.pg_namespace
                 WHERE nspname <> ALL (ARRAY['pg_catalog', 'information_schema']) AND nspname !~ '^pg_(temp|toast)'),
         rel AS (SELECT oid, xmin FROM pg_catalog.pg_class WHERE relnamespace IN (SELECT oid FROM ns))
    SELECT md5(coalesce(string_agg(k, ',' ORDER BY k), '')) AS digest FROM (
      SELECT 'n' || oid || ':' || xmin FROM pg_catalog.pg_namespace WHERE oid IN (SELECT oid FROM ns)
      UNION ALL SELECT 'c' || oid || ':' || xmin FROM rel
      UNION ALL SELECT 'a' || attrelid || '.' || attnum || ':' || xmin FROM pg_catalog.pg_attribute
                 WHERE attrelid IN (SELECT oid FROM rel)
      UNION ALL SELECT 'd' || oid || ':' || xmin FROM pg_catalog.pg_attrdef WHERE adrelid IN (SELECT oid FROM rel)
      UNION ALL SELECT 'k' || oid || ':' || xmin FROM pg_catalog.pg_constraint WHERE connamespace IN (SELECT oid FROM ns)
      UNION ALL SELECT 'i' || indexrelid || ':' || xmin FROM pg_catalog.pg_index WHERE indrelid IN (SELECT oid FROM rel)
      UNION ALL SELECT 't' || oid || ':' || xmin FROM pg_catalog.pg_trigger WHERE tgrelid IN (SELECT oid FROM rel)
      UNION ALL SELECT 'r' || oid || ':' || xmin FROM pg_catalog.pg_rewrite WHERE ev_class IN (SELECT oid FROM rel)
      UNION ALL SELECT 'p' || oid || ':' || xmin FROM pg_catalog.pg_proc WHERE pronamespace IN (SELECT oid FROM ns)
      UNION ALL SELECT 'y' || oid || ':' || xmin FROM pg_catalog.pg_type WHERE typnamespace IN (SELECT oid FROM ns)
      UNION ALL SELECT 'e' || oid || ':' || xmin FROM pg_catalog.pg_enum
      UNION ALL SELECT 'u' || oid || ':' || xmin FROM pg_catalog.pg_publication_rel
    ) AS keys(k)`);
  return rows[0]?.digest ?? '';
}

export interface Subscription {
  name: string;
  /** The subscriber's role: owns the subscription, a member of the tenant's role, superuser only until enabled. */
  owner: string;
  publisher: { host: string; port: number; user: string; password: string };
}

const inDatabase = <T>(server: ServerConnection, db: string, work: (c: pg.Client) => Promise<T>) =>
  withClient(server, bare(db), work, CATALOG_ONLY);

/**
 * Creates the subscription, not connected yet, in the target database while it is still empty (made
 * from template0 by Marina, before anything of the tenant's is restored into it): the one statement
 * PostgreSQL 15 allows only a superuser. Its owner then loses superuser; everything after is done by
 * that owner (startSubscription, pauseSubscription, unsubscribe), a member of the tenant's role.
 */
export async function createSubscription(server: ServerConnection, db: string, s: Subscription): Promise<void> {
  const { host, port, user, password } = s.publisher;
  if (!HOST.test(host) || !Number.isInteger(port)) throw new Error(`refusing the publisher ${host}:${port}`);
  const conninfo = `host=${host} port=${port} dbname=${bare(db)} user=${bare(user)} password=${secretLiteral(password).slice(1, -1)} connect_timeout=10`;
  const name = identifier(s.name);
  await inDatabase(server, db, async (c) => {
    const { rows } = await c.query<{ objects: number }>(
      "SELECT count(*)::int AS objects FROM pg_catalog.pg_class WHERE relnamespace <> ALL (ARRAY['pg_catalog'::regnamespace, 'information_schema'::regnamespace, 'pg_toast'::regnamespace])",
    );
    if (rows[0]?.objects !== 0) throw new Error(`refusing to subscribe ${db}: it is not empty`);
    await c.query(`CREATE SUBSCRIPTION ${name} CONNECTION '${conninfo}' PUBLICATION ${name} WITH (connect = false)`);
    await c.query(`ALTER SUBSCRIPTION ${name} OWNER TO ${identifier(s.owner)}`);
  });
  await withSuperuser(server, (c) => c.query(`ALTER ROLE ${identifier(s.owner)} NOSUPERUSER`));
}

/** The publisher's slot, made in the tenant's database by the publisher role (REPLICATION, no superuser). */
export async function createSlot(publisher: ServerConnection, db: string, name: string): Promise<void> {
  await inDatabase(publisher, db, (c) =>
    c.query("SELECT pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')", [bare(name)]),
  );
}

/** The owner hooks the subscription to its slot, starts it, and has it copy the tables restored since. */
export async function startSubscription(owner: pg.ClientBase, name: string): Promise<void> {
  await owner.query(`ALTER SUBSCRIPTION ${identifier(name)} SET (slot_name = '${bare(name)}')`);
  await owner.query(`ALTER SUBSCRIPTION ${identifier(name)} ENABLE`);
  await owner.query(`ALTER SUBSCRIPTION ${identifier(name)} REFRESH PUBLICATION WITH (copy_data = true)`);
}

/** A session in the subscriber's database as the subscription's owner (the search path pinned). */
export const withSubscriber = inDatabase;

/** Only stops the apply (quick, in the downtime): nothing the old copy does after this reaches the new one. */
export async function pauseSubscription(owner: pg.ClientBase, name: string): Promise<void> {
  await owner.query(`ALTER SUBSCRIPTION ${identifier(name)} DISABLE`);
}

/**
 * Ends the apply of a disabled subscription now, on the subscriber's server: its worker would
 * otherwise go on applying what it has received until it next looks at its subscription (up to a
 * second). A transaction it was applying is rolled back whole. Returns once no worker is left.
 */
export async function stopApplying(admin: pg.ClientBase, name: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pg_catalog.pg_terminate_backend(pid) AS stopped, pid
         FROM pg_catalog.pg_stat_subscription WHERE subname = $1 AND pid IS NOT NULL`,
      [name],
    );
    if (rows.length === 0) return;
    if (Date.now() > deadline) throw new Error(`the subscription ${name} still applies after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Ends a subscription without its publisher's help (it may be down), as its owner: disabled,
 * unhooked from its slot, dropped. Absent is fine. The owner's password is set anew first (a
 * recovery does not know it); the slot itself goes with dropSlot, on the publisher.
 */
export async function unsubscribe(server: ServerConnection, db: string, name: string, owner: string): Promise<void> {
  const password = randomBytes(24).toString('base64url');
  const exists = await withSuperuser(server, async (c) => {
    const found = await c.query(
      'SELECT 1 FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE s.subname = $1 AND d.datname = $2',
      [name, db],
    );
    if (found.rowCount === 1)
      await c.query(`ALTER ROLE ${identifier(owner)} LOGIN PASSWORD ${secretLiteral(password)}`);
    return found.rowCount === 1;
  });
  if (!exists) return;
  await inDatabase({ ...server, user: owner, password }, db, async (c) => {
    await pauseSubscription(c, name);
    await c.query(`ALTER SUBSCRIPTION ${identifier(name)} SET (slot_name = NONE)`);
    await c.query(`DROP SUBSCRIPTION ${identifier(name)}`);
  });
}

/** Drops a replication slot on the publisher (ending the session still holding it); absent is fine. */
export async function dropSlot(server: ServerConnection, name: string): Promise<void> {
  await withSuperuser(server, async (c) => {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const { rows } = await c.query<{ active_pid: number | null }>(
        'SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1',
        [name],
      );
      if (rows.length === 0) return;
      if (rows[0]?.active_pid) {
        await c.query('SELECT pg_terminate_backend($1)', [rows[0].active_pid]);
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      try {
        await c.query('SELECT pg_drop_replication_slot($1)', [name]);
        return;
      } catch (error) {
        if (attempt === 19) throw error;
      }
    }
  });
}

/** The publisher's WAL position now (after the tenant's writes stopped); `admin` is a superuser's session. */
export async function currentLsn(admin: pg.ClientBase): Promise<string> {
  const lsn = (await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn ?? '';
  if (!LSN.test(lsn)) throw new Error(`unexpected WAL position ${lsn}`);
  return lsn;
}

/** Whether the subscriber confirmed everything up to `lsn` (the slot on the publisher says so). */
export async function caughtUp(admin: pg.ClientBase, slot: string, lsn: string): Promise<boolean> {
  const { rows } = await admin.query<{ done: boolean }>(
    'SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1',
    [slot, lsn],
  );
  return rows[0]?.done === true;
}

/** How many tables of the subscription are in each state ('r' is ready: copied and following). */
export async function syncStates(
  subscriber: ServerConnection,
  db: string,
  name: string,
): Promise<Record<string, number>> {
  return inDatabase(subscriber, db, async (c) => {
    const { rows } = await c.query<{ state: string; tables: number }>(
      `SELECT r.srsubstate::text AS state, count(*)::int AS tables FROM pg_catalog.pg_subscription_rel r
         JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid WHERE s.subname = $1 GROUP BY 1`,
      [name],
    );
    return Object.fromEntries(rows.map((r) => [r.state, r.tables]));
  });
}

/** Each sequence's last value, read as the tenant's role (sequences are not replicated). */
export async function readSequences(tenant: pg.ClientBase): Promise<{ names: string[]; values: (string | null)[] }> {
  const { rows } = await tenant.query<{ name: string; value: string | null }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, pg_catalog.pg_sequence_last_value(c.oid)::text AS value
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'S' AND n.nspname <> ALL (ARRAY['pg_catalog', 'information_schema']) AND n.nspname !~ '^pg_temp'`,
  );
  return { names: rows.map((r) => r.name), values: rows.map((r) => r.value) };
}

/** Sets the sequences read on the publisher, in one statement, in a session of a member of the tenant's role. */
export async function writeSequences(
  subscriber: pg.ClientBase,
  sequences: { names: string[]; values: (string | null)[] },
): Promise<number> {
  const { rows } = await subscriber.query<{ set: number }>(
    `SELECT count(pg_catalog.setval(pg_catalog.to_regclass(s.name), s.value::bigint, true))::int AS set
       FROM unnest($1::text[], $2::text[]) AS s(name, value) WHERE s.value IS NOT NULL`,
    [sequences.names, sequences.values],
  );
  return rows[0]?.set ?? 0;
}
