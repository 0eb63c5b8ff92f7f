import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as } from '../../../test/helpers/app.js';
import { followJob } from '../../../test/helpers/jobs.js';
import {
  admin,
  baseUrl,
  fixtureZip,
  headers,
  instance,
  makeZip,
  projectId,
  sql,
  startMarinaWithStandinInstance,
  t,
  upload,
} from './backups-test-support.js';

/**
 * Issue #17: Odoo's second backup format, "pg_dump custom format (without filestore)" (.dump),
 * imported like its zip, recognised by content; every other file refused saying what it is and
 * what Marina accepts. Stand-in Odoo, real Docker and PostgreSQL; the .dump files are made by
 * pg_dump --format=c --no-owner, as Odoo's database manager makes them.
 */
startMarinaWithStandinInstance();

const ACCEPTED =
  "Marina accepts an Odoo backup zip (with or without filestore) or a PostgreSQL custom-format dump (.dump) from Odoo's database manager.";
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'marina-dump-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** pg_dump --format=c --no-owner of a database on the instances' server, as Odoo's manager runs it. */
async function customDump(db: string): Promise<Buffer> {
  const server = await t.services.databaseServers.forInstances('local');
  const c = await t.services.databaseServers.connection(server);
  const file = join(work, `${db}-${Date.now()}.dump`);
  await promisify(execFile)('pg_dump', ['--format=c', '--no-owner', '--file', file, '--dbname', db], {
    env: { ...process.env, PGHOST: c.host, PGPORT: String(c.port), PGUSER: c.user, PGPASSWORD: c.password },
  });
  return readFile(file);
}

const query = (name: string) => `project=${projectId}&name=${name}&stage=staging&adminLogin=dev%40acme.test`;

async function counts() {
  return {
    instances: (await as(t, admin)('GET', '/api/v1/instances')).json().instances.length,
    backups: (await as(t, admin)('GET', '/api/v1/backups')).json().backups.length,
  };
}

describe('imports of .dump files, and refusals that say what the file is (stand-in Odoo)', () => {
  it('refuses wrong files saying what each is and what Marina accepts, changing nothing', async () => {
    const before = await counts();
    const dump = await customDump(instance.dbName);
    const manifest = JSON.stringify({ odoo_dump: '1', db_name: 'x', version: '17.0', modules: {} });
    const zip = await makeZip({ 'manifest.json': manifest, 'dump.sql': 'select 1;'.repeat(100) });
    // A tar's header: a name, then "ustar" at byte 257.
    const tar = Buffer.alloc(1024);
    tar.write('notes.txt', 0);
    tar.write('ustar', 257);
    const cases: [string, Buffer, string, RegExp][] = [
      ['gzip', gzipSync('hello'), 'MARINA_E_IMPORT_NOT_A_BACKUP', /^This file is a gzip archive, not an Odoo backup\./],
      ['tar', tar, 'MARINA_E_IMPORT_NOT_A_BACKUP', /^This file is a tar archive, not an Odoo backup\./],
      [
        'sql',
        Buffer.from('--\n-- PostgreSQL database dump\n--\nSET statement_timeout = 0;\n'),
        'MARINA_E_IMPORT_NOT_A_BACKUP',
        /^This file is a plain SQL script \(pg_dump --format=p\), not an Odoo backup\./,
      ],
      ['empty', Buffer.alloc(0), 'MARINA_E_IMPORT_NOT_A_BACKUP', /^This file is empty\./],
      [
        'cutzip',
        zip.subarray(0, zip.length - 30),
        'MARINA_E_ARCHIVE_INVALID',
        /^This file is a zip archive that is damaged or cut short \(.*\): download it again\./,
      ],
      [
        'nodump',
        await makeZip({ 'manifest.json': manifest, 'filestore/ab/cd': 'x' }),
        'MARINA_E_IMPORT_NOT_A_BACKUP',
        /^This file is a zip archive with no dump\.sql \(no database in it\), not an Odoo backup\./,
      ],
      [
        'cutdump',
        dump.subarray(0, Math.floor(dump.length * 0.7)),
        'MARINA_E_ARCHIVE_INVALID',
        /^This file is a PostgreSQL custom-format dump that is cut short/,
      ],
    ];
    for (const [name, body, code, message] of cases) {
      const refused = await upload(query(name), body);
      expect({ name, status: refused.statusCode, code: refused.json().error.code }).toEqual({
        name,
        status: 400,
        code,
      });
      expect(refused.json().error.message).toMatch(message);
      if (!['cutdump'].includes(name)) expect(refused.json().error.message).toContain(ACCEPTED);
    }
    // The header says which pg_restore reads it: version 1.15 is PostgreSQL 16's; this server's is 15.
    const newer = Buffer.from(dump);
    newer.writeUInt8(15, 6);
    const tooNew = await upload(query('newer'), newer);
    expect(tooNew.json().error.message).toMatch(
      /archive version 1\.15, written by PostgreSQL 16; this Marina's pg_restore reads versions up to 1\.14/,
    );
    // A dump of a database that is not Odoo's.
    const other = await upload(query('other'), await customDump('postgres'));
    expect(other.json().error).toMatchObject({ code: 'MARINA_E_IMPORT_NOT_A_BACKUP' });
    expect(other.json().error.message).toMatch(/custom-format dump of a database that is not Odoo's/);

    expect(await counts()).toEqual(before);
    const uploads = join(t.config.backups.dir, 'uploads');
    expect(existsSync(uploads) ? await readdir(uploads) : []).toEqual([]);
  }, 120_000);

  it('imports a .dump as a new instance (database only, loaded as its own role) and downloads it back as a .dump', async () => {
    await sql(instance.dbName, "insert into res_partner (name) values ('Dumped Partner')");
    const dump = await customDump(instance.dbName);
    const imported = await upload(query('fromdump'), dump);
    expect(imported.statusCode).toBe(202);
    expect(imported.json().backup).toMatchObject({ trigger: 'import', kind: 'database', status: 'completed' });
    const { job } = await followJob(baseUrl, headers, imported.json().job.id, 120_000);
    expect(job.error).toBeNull();
    const copy = imported.json().instance;
    expect(await sql(copy.dbName, "select name from res_partner where name = 'Dumped Partner'")).toHaveLength(1);
    // Restored without owners, as the instance's role: it owns every table, no superuser did.
    const owners = await sql<{ owner: string }>(
      copy.dbName,
      "select distinct tableowner as owner from pg_tables where schemaname = 'public'",
    );
    expect(owners.map((o) => o.owner)).toEqual([copy.dbName]);
    const logs = JSON.stringify((await as(t, admin)('GET', `/api/v1/jobs/${imported.json().job.id}`)).json().logs);
    expect(logs).toMatch(/pg_restore of the imported \.dump/);

    // The same bytes come back as a .dump; the stored file downloads as it is kept.
    const id = imported.json().backup.id;
    const asDump = await as(t, admin)('GET', `/api/v1/backups/${id}/download?format=dump`);
    expect(asDump.statusCode).toBe(200);
    expect(asDump.headers['content-disposition']).toMatch(/\.dump"$/);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(asDump.rawPayload)).toBe(sha(dump));
    const bogus = await as(t, admin)('GET', `/api/v1/backups/${id}/download?format=sql`);
    expect(bogus.statusCode).toBe(400);
  }, 240_000);

  it('a zip backup asked for as a .dump before it is prepared is refused saying how to prepare it', async () => {
    const zipBackup = (
      await as(t, admin)('POST', `/api/v1/instances/${instance.id}/backups`, { kind: 'database', format: 'zip' })
    ).json();
    await followJob(baseUrl, headers, zipBackup.job.id);
    const refused = await as(t, admin)('GET', `/api/v1/backups/${zipBackup.backup.id}/download?format=dump`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({ code: 'MARINA_E_DOWNLOAD_FORMAT' });
    expect(refused.json().error.message).toMatch(/not prepared yet: prepare it first/);
  }, 120_000);

  it.skipIf(!existsSync(fixtureZip))(
    'imports a .dump made from the real Odoo 17 database of the database-manager fixture',
    async () => {
      // The fixture's database (made by real Odoo 17), loaded through a zip import, then dumped as Odoo does.
      const zipped = await upload(query('fromzip'), await readFile(fixtureZip));
      expect(zipped.statusCode).toBe(202);
      await followJob(baseUrl, headers, zipped.json().job.id, 120_000);
      const dump = await customDump(zipped.json().instance.dbName);
      const imported = await upload(query('odoodump'), dump);
      expect(imported.statusCode).toBe(202);
      expect(imported.json().backup.odooVersion ?? '17.0').toBe('17.0');
      const { job } = await followJob(baseUrl, headers, imported.json().job.id, 120_000);
      expect(job.error).toBeNull();
      const copy = imported.json().instance;
      const users = await sql<{ login: string }>(copy.dbName, 'select login from res_users where active');
      expect(users.length).toBeGreaterThan(0);
      const base = await sql<{ v: string }>(
        copy.dbName,
        "select latest_version as v from ir_module_module where name = 'base'",
      );
      expect(base[0]?.v).toMatch(/^17\.0/);
    },
    300_000,
  );
});
