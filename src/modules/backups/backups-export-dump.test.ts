import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, memberBrowser } from '../../../test/helpers/app.js';
import { followJob } from '../../../test/helpers/jobs.js';
import {
  admin,
  backup,
  baseUrl,
  headers,
  instance,
  sql,
  startMarinaWithStandinInstance,
  t,
} from './backups-test-support.js';

/**
 * Issue #17: every backup downloads as a PostgreSQL custom-format .dump (database only, as Odoo's
 * database manager's "pg_dump custom format"): prepared by a job that loads the backup into a
 * throwaway database and pg_dumps it, kept beside the backup. Stand-in Odoo, real Docker and PostgreSQL.
 */
startMarinaWithStandinInstance();

const run = promisify(execFile);
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'marina-export-dump-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function pgEnv() {
  const server = await t.services.databaseServers.forInstances('local');
  const c = await t.services.databaseServers.connection(server);
  return { ...process.env, PGHOST: c.host, PGPORT: String(c.port), PGUSER: c.user, PGPASSWORD: c.password };
}

/** Prepares the .dump of a backup through the API and waits for its job. */
async function prepare(id: string) {
  const queued = await as(t, admin)('POST', `/api/v1/backups/${id}/dump`);
  expect(queued.statusCode).toBe(202);
  expect(queued.json().ready).toBe(false);
  // Asked again while it runs: the same job, not a second one.
  const again = await as(t, admin)('POST', `/api/v1/backups/${id}/dump`);
  if (again.statusCode === 202) expect(again.json().job.id).toBe(queued.json().job.id);
  const { job } = await followJob(baseUrl, headers, queued.json().job.id, 180_000);
  expect(job.error).toBeNull();
  expect(job.status).toBe('succeeded');
  const ready = await as(t, admin)('POST', `/api/v1/backups/${id}/dump`);
  expect(ready.statusCode).toBe(200);
  expect(ready.json()).toEqual({ ready: true });
}

describe('"Download .dump" of backups Marina made (stand-in Odoo)', () => {
  for (const format of ['zip', 'native'] as const) {
    it(`prepares a ${format} backup as a custom-format .dump that restores the instance's data`, async () => {
      const partner = `Exported ${format} partner`;
      await sql(instance.dbName, 'insert into res_partner (name) values ($1)', [partner]);
      const made = await backup('database', format);

      const early = await as(t, admin)('GET', `/api/v1/backups/${made.id}/download?format=dump`);
      expect(early.statusCode).toBe(409);
      expect(early.json().error).toMatchObject({ code: 'MARINA_E_DOWNLOAD_FORMAT' });
      expect(early.json().error.message).toMatch(/not prepared yet: prepare it first/);

      await prepare(made.id);
      const downloaded = await as(t, admin)('GET', `/api/v1/backups/${made.id}/download?format=dump`);
      expect(downloaded.statusCode).toBe(200);
      expect(downloaded.headers['content-disposition']).toMatch(/\.dump"$/);
      const file = join(work, `${format}.dump`);
      await writeFile(file, downloaded.rawPayload);
      // PostgreSQL's custom format: "PGDMP" first, and pg_restore reads its table of contents.
      expect(downloaded.rawPayload.subarray(0, 5).toString()).toBe('PGDMP');
      const { stdout: listing } = await run('pg_restore', ['--list', file]);
      expect(listing).toMatch(/TABLE public res_partner/);
      // No owners in it (--no-owner): it loads as whoever restores it.
      expect(listing).not.toMatch(/OWNER TO/);

      // Restored into a new database, it holds the instance's data.
      const env = await pgEnv();
      const db = `exported_${format}_${Date.now()}`;
      await run('createdb', [db], { env });
      try {
        await run('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', db, file], { env });
        expect(await sql(db, 'select name from res_partner where name = $1', [partner])).toHaveLength(1);
      } finally {
        await run('dropdb', ['--force', db], { env });
      }

      // The throwaway database is gone; the .dump is kept beside the backup until the backup goes.
      const left = await sql<{ datname: string }>(
        'postgres',
        "select datname from pg_database where datname like '%_dump%'",
      );
      expect(left).toEqual([]);
      const dumpPath = t.services.backups.storage.dumpPathOf(await t.services.backups.row(made.id));
      expect(existsSync(dumpPath)).toBe(true);
      expect(existsSync(`${dumpPath}.partial`)).toBe(false);
      expect((await as(t, admin)('DELETE', `/api/v1/backups/${made.id}`)).statusCode).toBe(204);
      expect(existsSync(dumpPath)).toBe(false);
    }, 300_000);
  }

  it('keeps other organizations out: preparing and downloading a .dump answer 404', async () => {
    const made = await backup('database', 'zip');
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'other', name: 'Other' });
    const outsider = await memberBrowser(t, admin, 'other', 'outsider@other.test', 'owner');
    const call = as(t, outsider);
    expect((await call('POST', `/api/v1/backups/${made.id}/dump`)).statusCode).toBe(404);
    expect((await call('GET', `/api/v1/backups/${made.id}/download?format=dump`)).statusCode).toBe(404);
    const jobs = await t.db
      .selectFrom('operations')
      .select('id')
      .where('kind', '=', 'backup.export_dump')
      .where('target_id', '=', made.id)
      .execute();
    expect(jobs).toEqual([]);
  }, 120_000);
});
