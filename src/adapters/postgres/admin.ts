import type { Duplex } from 'node:stream';
import pg from 'pg';

/** Database and role names Marina makes: lowercase, digits, underscores; checked again before any DDL. */
const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;
/** Passwords Marina generates (base64url). DDL cannot take parameters, so only these are accepted. */
const GENERATED_SECRET = /^[A-Za-z0-9_-]{20,100}$/;

export function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`refusing the database identifier ${JSON.stringify(name)}`);
  return `"${name}"`;
}

export function secretLiteral(secret: string): string {
  if (!GENERATED_SECRET.test(secret)) throw new Error('refusing a password Marina did not generate');
  return `'${secret}'`;
}

export interface ServerConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  /** A server on another host is reached through its engine's API instead of a socket of this one. */
  stream?: () => Duplex;
}

/**
 * One connection to one database. Inside a tenant's database, `server` must carry the instance's
 * own role (see DatabaseServerService.forInstance): the tenant controls what runs there (triggers,
 * views, search_path), and it must run with the tenant's rights, never the superuser's.
 */
export async function withClient<T>(
  server: ServerConnection,
  database: string,
  work: (client: pg.Client) => Promise<T>,
  options?: string,
): Promise<T> {
  const client = new pg.Client({
    ...server,
    database,
    // A tunnel is an exec made through the node's engine (TLS or SSH) before PostgreSQL's handshake
    // starts; on a loaded node that alone can take seconds.
    connectionTimeoutMillis: server.stream ? 30_000 : 5000,
    application_name: 'marina',
    ...(options ? { options } : {}),
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The maintenance database, where the superuser creates, drops and renames: nothing of a tenant's runs there. */
const MAINTENANCE_DB = 'postgres';

/**
 * The superuser's connection: only to the maintenance database, with `search_path` pinned to
 * pg_catalog from the start, so that no object a role created in a shared schema (`public` before
 * PostgreSQL 15) can stand in for a catalog function or operator.
 */
export function withSuperuser<T>(server: ServerConnection, work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(server, MAINTENANCE_DB, work, '-c search_path=pg_catalog');
}

export async function waitUntilReady(server: ServerConnection, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await withSuperuser(server, (c) => c.query('select 1'));
      return;
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  throw new Error(
    `PostgreSQL did not become ready within ${Math.round(timeoutMs / 1000)} s: ${(last as Error)?.message}`,
  );
}

/**
 * As Odoo creates its databases: byte-order collation, whatever the server's default. Indexes then
 * serve `LIKE 'abc%'` searches, and sorting text for index builds (restores, upgrades) is cheaper.
 */
const ODOO_COLLATION = "LC_COLLATE 'C'";

/**
 * One role and one database per instance: the role owns its database and nothing else —
 * no superuser, no CREATEROLE, no CREATEDB — and other roles cannot connect to it.
 */
const createRoleSql = (name: string, password: string) =>
  `CREATE ROLE ${identifier(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${secretLiteral(password)}`;

/**
 * The role alone, for an instance whose database comes whole from a load (a clone, a restore as a
 * new instance): an empty database made now would only be dropped after the load, and DROP DATABASE
 * forces an immediate checkpoint of everything the load left dirty, for every tenant of the server.
 */
export async function createRole(server: ServerConnection, name: string, password: string): Promise<void> {
  await withSuperuser(server, async (client) => {
    await client.query(createRoleSql(name, password));
  });
}

export async function createRoleAndDatabase(server: ServerConnection, name: string, password: string): Promise<void> {
  await withSuperuser(server, async (client) => {
    await client.query(createRoleSql(name, password));
    await client.query(
      `CREATE DATABASE ${identifier(name)} OWNER ${identifier(name)} ENCODING 'UTF8' ${ODOO_COLLATION} TEMPLATE template0`,
    );
    await client.query(`REVOKE ALL ON DATABASE ${identifier(name)} FROM PUBLIC`);
  });
}

export async function roleExists(server: ServerConnection, name: string): Promise<boolean> {
  return withSuperuser(
    server,
    async (c) => (await c.query('select 1 from pg_roles where rolname = $1', [name])).rowCount === 1,
  );
}

export async function databaseExists(server: ServerConnection, name: string): Promise<boolean> {
  return withSuperuser(
    server,
    async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1,
  );
}

/**
 * Drops an instance's database (disconnecting its sessions first), any other database its role owns,
 * and the role; absent ones are fine.
 */
export async function dropDatabaseAndRole(server: ServerConnection, name: string): Promise<void> {
  await withSuperuser(server, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${identifier(name)} WITH (FORCE)`);
    // Databases the role still owns (what a restore left aside) would keep the role from going.
    const owned = await client.query<{ datname: string }>(
      'SELECT d.datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = $1',
      [name],
    );
    for (const { datname } of owned.rows)
      await client.query(`DROP DATABASE IF EXISTS ${identifier(datname)} WITH (FORCE)`);
    await client.query(`DROP ROLE IF EXISTS ${identifier(name)}`);
  });
}

export async function databaseSize(server: ServerConnection, name: string): Promise<number> {
  return withSuperuser(server, async (c) => {
    const result = await c.query<{ size: string }>('select pg_database_size($1)::text as size', [name]);
    return Number(result.rows[0]?.size ?? 0);
  });
}

/**
 * Size and connected backends of the named databases, in one query from the maintenance database
 * (monitoring): never a connection into a tenant's database. Names the server lacks are left out.
 */
export async function databaseFigures(
  server: ServerConnection,
  names: readonly string[],
): Promise<Map<string, { bytes: number; connections: number }>> {
  return withSuperuser(server, async (c) => {
    const result = await c.query<{ datname: string; bytes: string; connections: number }>(
      `select d.datname, pg_database_size(d.oid)::text as bytes, count(a.pid)::int as connections
         from pg_database d left join pg_stat_activity a on a.datid = d.oid
        where d.datname = any($1::text[])
        group by d.oid, d.datname`,
      [names],
    );
    return new Map(result.rows.map((r) => [r.datname, { bytes: Number(r.bytes), connections: r.connections }]));
  });
}

/** Databases that look like Marina's on a server, for reconciliation. */
export async function listMarinaDatabases(server: ServerConnection): Promise<string[]> {
  return withSuperuser(server, async (c) => {
    const result = await c.query<{ datname: string }>(
      "select datname from pg_database where datname like 'odoo\\_%' order by 1",
    );
    return result.rows.map((r) => r.datname);
  });
}

/** An empty database owned by an existing role (a restore loads into it before it takes the real name). */
export async function createDatabaseFor(server: ServerConnection, name: string, owner: string): Promise<void> {
  await withSuperuser(server, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${identifier(name)} WITH (FORCE)`);
    await client.query(
      `CREATE DATABASE ${identifier(name)} OWNER ${identifier(owner)} ENCODING 'UTF8' ${ODOO_COLLATION} TEMPLATE template0`,
    );
    await client.query(`REVOKE ALL ON DATABASE ${identifier(name)} FROM PUBLIC`);
  });
}

export async function dropDatabase(server: ServerConnection, name: string): Promise<void> {
  await withSuperuser(server, (client) => client.query(`DROP DATABASE IF EXISTS ${identifier(name)} WITH (FORCE)`));
}

/**
 * A rename, and a copy from a template, both refuse a database someone else is connected to;
 * ending those sessions is how Marina makes it idle.
 */
async function endSessionsOn(client: pg.ClientBase, database: string): Promise<void> {
  await client.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [database],
  );
}

/** Renames a database; its sessions are ended first (the rename needs it idle). */
export async function renameDatabase(server: ServerConnection, from: string, to: string): Promise<void> {
  await withSuperuser(server, async (client) => {
    await endSessionsOn(client, from);
    await client.query(`ALTER DATABASE ${identifier(from)} RENAME TO ${identifier(to)}`);
  });
}

/**
 * Puts `loaded` in place of `live`, the old one renamed `aside` (an older `aside` dropped), over one
 * connection: the swap is downtime. Does nothing once `loaded` is gone, so it can run again.
 */
export async function swapDatabases(
  server: ServerConnection,
  names: { live: string; loaded: string; aside: string },
): Promise<void> {
  await withSuperuser(server, async (client) => {
    const exists = async (name: string) =>
      (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
    if (!(await exists(names.loaded))) return;
    if (await exists(names.live)) {
      await client.query(`DROP DATABASE IF EXISTS ${identifier(names.aside)} WITH (FORCE)`);
      await endSessionsOn(client, names.live);
      await client.query(`ALTER DATABASE ${identifier(names.live)} RENAME TO ${identifier(names.aside)}`);
    }
    await endSessionsOn(client, names.loaded);
    await client.query(`ALTER DATABASE ${identifier(names.loaded)} RENAME TO ${identifier(names.live)}`);
  });
}

export async function serverVersionNum(server: ServerConnection): Promise<number> {
  return withSuperuser(server, async (c) => {
    const result = await c.query<{ v: string }>('show server_version_num');
    return Number(result.rows[0]?.v ?? 0);
  });
}

/**
 * A built template: owned by the superuser (so that its role owns no database a copy's hand-over
 * could take), its role unable to sign in, and no connection allowed — a copy needs none open.
 */
export async function sealTemplateDatabase(server: ServerConnection, name: string): Promise<void> {
  await withSuperuser(server, async (client) => {
    await endSessionsOn(client, name);
    await client.query(`ALTER DATABASE ${identifier(name)} OWNER TO CURRENT_USER`);
    await client.query(`ALTER DATABASE ${identifier(name)} ALLOW_CONNECTIONS false`);
    await client.query(`ALTER ROLE ${identifier(name)} NOLOGIN`);
  });
}

/**
 * An instance's database as a copy of a template, owned by the instance's role; the template's
 * role is lent to it for the hand-over (`handOverTemplateObjects`), which must end with
 * `endTemplateLoan` whatever happens.
 */
export async function copyTemplateDatabase(
  server: ServerConnection,
  template: string,
  name: string,
  owner: string,
): Promise<void> {
  await withSuperuser(server, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${identifier(name)} WITH (FORCE)`);
    // From 15 on, the default (WAL_LOG) writes the whole copy to the WAL: slower for a template's size.
    const version = Number((await client.query<{ v: string }>('show server_version_num')).rows[0]?.v ?? 0);
    await client.query(
      `CREATE DATABASE ${identifier(name)} OWNER ${identifier(owner)} TEMPLATE ${identifier(template)}${version >= 150000 ? ' STRATEGY FILE_COPY' : ''}`,
    );
    await client.query(`REVOKE ALL ON DATABASE ${identifier(name)} FROM PUBLIC`);
    await client.query(`GRANT ${identifier(template)} TO ${identifier(owner)}`);
  });
}

/**
 * Inside the copy, on the instance's own role's connection (never the superuser's): every table,
 * sequence and function the template's role made becomes the instance's. Only this database's
 * objects move: the template's role owns no database any more (sealTemplateDatabase).
 */
export async function handOverTemplateObjects(instanceRole: pg.ClientBase, template: string): Promise<void> {
  await instanceRole.query(`REASSIGN OWNED BY ${identifier(template)} TO CURRENT_USER`);
}

export async function endTemplateLoan(server: ServerConnection, template: string, owner: string): Promise<void> {
  await withSuperuser(server, async (client) => {
    const lent = await client.query(
      'SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = $1 AND u.rolname = $2',
      [template, owner],
    );
    if (lent.rowCount) await client.query(`REVOKE ${identifier(template)} FROM ${identifier(owner)}`);
  });
}

/**
 * Drops a template's database, then its role, each IF EXISTS so that a build that failed or was
 * interrupted before making them is cleaned up the same way; FORCE because an interrupted build's
 * Odoo may still be connected. The database goes first because its objects belong to the role.
 * A role lent to a copy does not stop DROP ROLE (PostgreSQL revokes the membership), but a copy
 * still owning objects of it (its hand-over not run yet) does: the call throws with the database
 * already gone, and the next call drops only the role.
 */
export async function dropTemplateDatabase(server: ServerConnection, name: string): Promise<void> {
  await withSuperuser(server, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${identifier(name)} WITH (FORCE)`);
    await client.query(`DROP ROLE IF EXISTS ${identifier(name)}`);
  });
}
