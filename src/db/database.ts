import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { MarinaConfig } from '../config.js';
import { startEmbeddedPostgres } from './embedded.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';
import { WriteSignalPlugin } from './write-signal.js';

export type Db = Kysely<Database>;

// timestamptz and bigint come back as Date and string; bigint ids stay strings to keep precision.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

export interface OpenDatabase {
  db: Db;
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

export function connect(url: string, max = 10): Db {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'marina' });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new WriteSignalPlugin()] });
}

export async function migrate(db: Db, logger?: Logger): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'marina_migrations',
    migrationLockTableName: 'marina_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  for (const name of applied) logger?.info({ migration: name }, 'applied migration');
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return applied;
}

export async function isReachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens Marina's own database: MARINA_DATABASE_URL, or the embedded PostgreSQL in the data folder.
 * `takeOver` is for the server (it owns the embedded server); CLI commands borrow a running one.
 */
export async function openDatabase(config: MarinaConfig, logger: Logger, takeOver: boolean): Promise<OpenDatabase> {
  if (config.databaseUrl) {
    const db = connect(config.databaseUrl);
    return { db, url: config.databaseUrl, embedded: false, close: () => db.destroy() };
  }
  const server = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.embeddedPostgresPort,
    logger,
    takeOver,
  });
  const db = connect(server.url);
  return {
    db,
    url: server.url,
    embedded: true,
    close: async () => {
      await db.destroy();
      await server.stop();
    },
  };
}
