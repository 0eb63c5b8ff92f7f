import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { adminBrowser, as, createTestApp, type TestApp, withToken } from '../../../test/helpers/app.js';
import { onTableWrite, type TableWrite } from '../../db/write-signal.js';
import { sha256 } from '../../platform/secrets/secrets.js';
import { touchesCredentials } from './credential-cache.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

/** A statement sent past Marina's Db (psql by hand, another program): no plugin sees it. */
async function fromOutside(text: string, values: unknown[] = []): Promise<void> {
  const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(t.db);
  const url = inject('postgresAdminUrl').replace(/\/[^/]*$/, `/${rows[0]?.name}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

async function tokenOf(admin: Awaited<ReturnType<typeof adminBrowser>>): Promise<{ id: string; secret: string }> {
  const { token, secret } = (await as(t, admin)('POST', '/api/v1/tokens', { name: 'cached' })).json();
  return { id: token.id, secret };
}

describe('the credential cache', () => {
  it('refuses at once a token or session whose user Marina disabled, even right after a request used it', async () => {
    const admin = await adminBrowser(t);
    const { secret } = await tokenOf(admin);
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(200);
    expect((await as(t, admin)('GET', '/api/v1/me')).statusCode).toBe(200);
    await t.db.updateTable('users').set({ disabled_at: t.clock.now() }).execute();
    expect((await withToken(t, secret)('GET', '/api/v1/me')).json().error.code).toBe('MARINA_E_INVALID_TOKEN');
    expect((await as(t, admin)('GET', '/api/v1/me')).statusCode).toBe(401);
  });

  it('refuses at once after a raw statement or a delete through Marina', async () => {
    const admin = await adminBrowser(t);
    const first = await tokenOf(admin);
    const second = await tokenOf(admin);
    expect((await withToken(t, first.secret)('GET', '/api/v1/me')).statusCode).toBe(200);
    expect((await withToken(t, second.secret)('GET', '/api/v1/me')).statusCode).toBe(200);
    await sql`update api_tokens set revoked_at = now() where id = ${first.id}`.execute(t.db);
    expect((await withToken(t, first.secret)('GET', '/api/v1/me')).statusCode).toBe(401);
    await t.db.deleteFrom('api_tokens').where('id', '=', second.id).execute();
    expect((await withToken(t, second.secret)('GET', '/api/v1/me')).statusCode).toBe(401);
  });

  it('keeps a row two seconds at most: a change made outside Marina counts after that', async () => {
    const admin = await adminBrowser(t);
    const { id, secret } = await tokenOf(admin);
    // Nothing stored while a write's transaction may still be open: wait out the token's creation.
    await sleep(2100);
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(200);
    await fromOutside('update api_tokens set revoked_at = now() where id = $1', [id]);
    // The kept row answers (no lookup): the proof that it is kept at all.
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(200);
    await sleep(2100);
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(401);
  });

  it('never keeps a refusal: a token that did not exist works as soon as it does', async () => {
    const admin = await adminBrowser(t);
    const secret = `mrn_${'a'.repeat(43)}`;
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(401);
    const user = await t.db.selectFrom('users').select('id').executeTakeFirstOrThrow();
    await fromOutside('insert into api_tokens (user_id, name, token_hash, prefix) values ($1, $2, $3, $4)', [
      user.id,
      'made by hand',
      sha256(secret),
      secret.slice(0, 12),
    ]);
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(200);
    expect((await as(t, admin)('GET', '/api/v1/me')).statusCode).toBe(200);
  });
});

describe('the write signal', () => {
  it('names what each statement writes; only the last-used stamps leave credentials alone', async () => {
    const seen: TableWrite[] = [];
    const stop = onTableWrite((write) => seen.push(write));
    try {
      await t.db.selectFrom('users').select('id').execute();
      await t.db.updateTable('sessions').set({ last_seen_at: t.clock.now() }).execute();
      await t.db.updateTable('organizations').set({ name: 'x' }).where('slug', '=', 'none').execute();
      await t.db
        .with('gone', (db) => db.updateTable('users').set({ locale: 'fr' }).where('email', '=', 'none').returning('id'))
        .selectFrom('gone')
        .select('id')
        .execute();
      await sql`delete from login_attempts where false`.execute(t.db);
    } finally {
      stop();
    }
    // Each statement is announced when sent and again when it has run.
    expect(seen).toEqual([
      { table: 'sessions', columns: ['last_seen_at'] },
      { table: 'sessions', columns: ['last_seen_at'] },
      { table: 'organizations', columns: ['name'] },
      { table: 'organizations', columns: ['name'] },
      { table: 'users', columns: ['locale'] },
      { table: 'users', columns: ['locale'] },
      { table: null, columns: null },
      { table: null, columns: null },
    ]);
    expect(seen.map(touchesCredentials)).toEqual([false, false, false, false, true, true, true, true]);
  });
});
