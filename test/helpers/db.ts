import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { connect, type Db, migrate } from '../../src/db/database.js';

export interface TestDatabase {
  db: Db;
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('postgresAdminUrl') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database on the test PostgreSQL server; `migrated` applies Marina's migrations. */
export async function createTestDatabase(migrated = true): Promise<TestDatabase> {
  const name = `marina_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = inject('postgresAdminUrl').replace(/\/[^/]*$/, `/${name}`);
  const db = connect(url, 5);
  if (migrated) await migrate(db);
  return {
    db,
    url,
    name,
    drop: async () => {
      await db.destroy();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
