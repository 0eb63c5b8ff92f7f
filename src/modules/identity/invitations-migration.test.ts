import { Migrator, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/db.js';
import { migrate } from '../../db/database.js';
import { migrations } from '../../db/migrations/index.js';
import { sha256 } from '../../platform/secrets/secrets.js';

let database: TestDatabase | undefined;
afterEach(() => database?.drop());

describe('the invitations migration', () => {
  it('turns the memberships of accounts nobody claimed into invitations, and the links the inviters saw stop working', async () => {
    database = await createTestDatabase(false);
    const db = database.db;
    const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0007'));
    const { error } = await new Migrator({
      db,
      provider: { getMigrations: async () => before },
      migrationTableName: 'marina_migrations',
      migrationLockTableName: 'marina_migrations_lock',
    }).migrateToLatest();
    expect(error).toBeUndefined();

    // As the old code left it: an admin created pending@x.test in acme with a link; globex then
    // added the same address, which joined silently; claimed@x.test has a password.
    const [acme, globex] = (
      await sql<{ id: string }>`insert into organizations (slug, name) values ('acme', 'ACME'), ('globex', 'Globex')
        returning id`.execute(db)
    ).rows.map((r) => r.id);
    const pending = (
      await sql<{ id: string }>`insert into users (email, name) values ('pending@x.test', 'p') returning id`.execute(db)
    ).rows[0]?.id;
    const claimed = (
      await sql<{ id: string }>`insert into users (email, name, password_hash)
        values ('claimed@x.test', 'c', 'argon2-hash') returning id`.execute(db)
    ).rows[0]?.id;
    await sql`insert into memberships (organization_id, user_id, role, created_at) values
      (${acme}, ${pending}, 'member', now() - interval '2 days'),
      (${globex}, ${pending}, 'owner', now() - interval '1 day'),
      (${acme}, ${claimed}, 'admin', now())`.execute(db);
    await sql`insert into one_time_tokens (purpose, token_hash, user_id, expires_at)
      values ('invite', ${sha256('the old link')}, ${pending}, now() + interval '3 days')`.execute(db);

    await migrate(db);

    const memberships = await db.selectFrom('memberships').select(['user_id', 'role']).execute();
    expect(memberships).toEqual([{ user_id: claimed, role: 'admin' }]);
    const invitations = await db
      .selectFrom('invitations')
      .select(['organization_id', 'email', 'role', 'token_hash'])
      .orderBy('created_at')
      .execute();
    expect(invitations).toEqual([
      {
        organization_id: acme,
        email: 'pending@x.test',
        role: 'viewer',
        token_hash: expect.stringMatching(/^unusable:/),
      },
      {
        organization_id: globex,
        email: 'pending@x.test',
        role: 'owner',
        token_hash: expect.stringMatching(/^unusable:/),
      },
    ]);
    expect(invitations.map((i) => i.token_hash)).not.toContain(sha256('the old link'));
    const old = await db.selectFrom('one_time_tokens').select('used_at').executeTakeFirstOrThrow();
    expect(old.used_at).not.toBeNull();
    // Only platform admins count as proven owners of their address; the others prove it with a link.
    const verified = await db.selectFrom('users').select(['email', 'email_verified_at']).orderBy('email').execute();
    expect(verified.every((u) => u.email_verified_at === null)).toBe(true);
    const columns = await sql<{ column_name: string }>`select column_name from information_schema.columns
      where table_name = 'users' and column_name = 'disabled_at'`.execute(db);
    expect(columns.rows).toHaveLength(1);
  });
});
