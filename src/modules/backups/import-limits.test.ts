import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import {
  adminBrowser,
  as,
  type Browser,
  countRows,
  createTestApp,
  STRONG_PASSWORD,
  signIn,
  type TestApp,
} from '../../../test/helpers/app.js';
import { makeOrganization, makeProject } from '../../../test/helpers/factories.js';
import { hashPassword } from '../identity/passwords.js';

/**
 * Import caps (total inflated size, entry count, compression ratio) and one import at a time per
 * organization. Every refusal happens in the upload request, before an instance, a backup or a
 * job exists: no Docker engine is needed to prove that nothing was written.
 */
let t: TestApp;
let admin: Browser;
let projectId: string;
const MiB = 1024 * 1024;

const manifest = JSON.stringify({ odoo_dump: '1', db_name: 'x', version: '17.0', major_version: '17.0', modules: {} });

/** A zip whose dump.sql is `zeros` bytes of zeros, streamed into yazl (about 1000:1 deflated). */
function zeroBomb(zeros: number, extra: Record<string, string> = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(manifest), 'manifest.json');
  for (const [name, content] of Object.entries(extra)) zip.addBuffer(Buffer.from(content), name);
  const chunk = Buffer.alloc(MiB);
  let left = zeros;
  zip.addReadStream(
    new Readable({
      read() {
        const n = Math.min(left, chunk.length);
        left -= n;
        this.push(n > 0 ? chunk.subarray(0, n) : null);
      },
    }),
    'dump.sql',
  );
  zip.end();
  return collect(zip);
}

function smallZip(files: Record<string, string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  return collect(zip);
}

function collect(zip: yazl.ZipFile): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** Rewrites the uncompressed size of `name` in the central directory: a header that lies. */
function lieAboutSize(zip: Buffer, name: string, size: number): Buffer {
  const out = Buffer.from(zip);
  for (let i = out.length - 46; i >= 0; i--) {
    if (out.readUInt32LE(i) !== 0x02014b50) continue;
    const nameLength = out.readUInt16LE(i + 28);
    if (out.subarray(i + 46, i + 46 + nameLength).toString('latin1') === name) {
      out.writeUInt32LE(size, i + 24);
      return out;
    }
  }
  throw new Error(`no central directory entry ${name}`);
}

const query = (name: string) => `project=${projectId}&name=${name}&stage=staging&adminLogin=dev%40acme.test`;

function upload(name: string, body: Buffer | Readable, who: Browser = admin) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/imports?${query(name)}`,
    headers: { cookie: who.cookie, 'x-marina-csrf': who.csrf, 'content-type': 'application/zip' },
    payload: body,
  });
}

const uploadsDir = () => join(t.config.backups.dir, 'uploads');
const uploads = async () => (existsSync(uploadsDir()) ? await readdir(uploadsDir()) : []);

async function state() {
  return {
    instances: Number(
      (
        await t.db
          .selectFrom('instances')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
    backups: Number(
      (
        await t.db
          .selectFrom('backups')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
    operations: await countRows(t.db, 'operations'),
    uploads: await uploads(),
  };
}

const setLimits = (limits: Record<string, number>) => as(t, admin)('PUT', '/api/v1/settings/imports', limits);

beforeAll(async () => {
  t = await createTestApp({
    MARINA_BACKUPS_DIR: join(tmpdir(), `marina-import-limits-${randomBytes(4).toString('hex')}`),
  });
  admin = await adminBrowser(t);
  await makeOrganization(as(t, admin));
  projectId = (await makeProject(as(t, admin))).id;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('import limits', { timeout: 120_000 }, () => {
  it('refuses a zip of zeros that inflates 1000:1 in the request, by the ratio cap, writing nothing', async () => {
    const before = await state();
    // 128 MiB of zeros in about 130 KB: the shape of "a 5 MB zip that inflates to 5 GB".
    const bomb = await zeroBomb(128 * MiB);
    expect(bomb.length).toBeLessThan(MiB);
    const refused = await upload('bomb', bomb);
    expect(refused.statusCode, refused.body).toBe(413);
    expect(refused.json().error.code).toBe('MARINA_E_ARCHIVE_TOO_LARGE');
    expect(refused.json().error.message).toMatch(/dump\.sql inflates more than 100 times/);
    expect(await state()).toEqual(before);
  });

  it('refuses past the total size a platform admin sets, even at a ratio that is allowed', async () => {
    const before = await state();
    const limits = await setLimits({ maxUncompressedBytes: 32 * MiB, maxCompressionRatio: 100_000 });
    expect(limits.statusCode, limits.body).toBe(200);
    expect(limits.json().imports).toEqual({
      maxUncompressedBytes: 32 * MiB,
      maxEntries: 500_000,
      maxCompressionRatio: 100_000,
    });
    const refused = await upload('big', await zeroBomb(64 * MiB));
    expect(refused.statusCode, refused.body).toBe(413);
    expect(refused.json().error.message).toMatch(/more than 32 MiB/);
    expect(await state()).toEqual(before);
  });

  it('refuses an archive whose header lies about its size: the real inflated bytes are counted', async () => {
    const before = await state();
    await setLimits({ maxUncompressedBytes: 32 * MiB, maxCompressionRatio: 100_000 });
    // The central directory claims 1 MiB; the entry inflates to 64 MiB.
    const liar = lieAboutSize(await zeroBomb(64 * MiB), 'dump.sql', MiB);
    const refused = await upload('liar', liar);
    expect([400, 413], refused.body).toContain(refused.statusCode);
    expect(['MARINA_E_ARCHIVE_TOO_LARGE', 'MARINA_E_ARCHIVE_INVALID']).toContain(refused.json().error.code);
    expect(await state()).toEqual(before);
  });

  it('refuses more entries than allowed, from the central directory', async () => {
    const before = await state();
    await setLimits({ maxEntries: 10 });
    const files: Record<string, string> = { 'manifest.json': manifest, 'dump.sql': 'select 1;' };
    for (let i = 0; i < 20; i++) files[`filestore/ab/${i.toString(16).padStart(40, '0')}`] = 'x';
    const refused = await upload('many', await smallZip(files));
    expect(refused.statusCode, refused.body).toBe(413);
    expect(refused.json().error.message).toMatch(/22 entries; at most 10/);
    expect(await state()).toEqual(before);
    await setLimits({ maxEntries: 500_000 });
  });

  it('lets platform admins alone change the limits, with bounds, and audits the change', async () => {
    // An organization owner, made in the database: owners of organizations are not platform admins.
    const user = await t.db
      .insertInto('users')
      .values({ email: 'owner@acme.test', name: 'Owner', password_hash: await hashPassword(STRONG_PASSWORD) })
      .returning('id')
      .executeTakeFirstOrThrow();
    const org = await t.db
      .selectFrom('organizations')
      .select('id')
      .where('slug', '=', 'acme')
      .executeTakeFirstOrThrow();
    await t.db.insertInto('memberships').values({ organization_id: org.id, user_id: user.id, role: 'owner' }).execute();
    const owner = await signIn(t.app, 'owner@acme.test');
    expect((await as(t, owner)('GET', '/api/v1/settings/imports')).statusCode).toBe(200);
    const forbidden = await as(t, owner)('PUT', '/api/v1/settings/imports', { maxUncompressedBytes: 2 * 1024 * MiB });
    expect(forbidden.statusCode).toBe(403);
    expect((await setLimits({ maxCompressionRatio: 1 })).statusCode).toBe(400);
    expect((await setLimits({ maxEntries: 1.5 })).statusCode).toBe(400);
    expect((await setLimits({ maxEntries: 400_000 })).statusCode).toBe(200);
    expect((await as(t, owner)('GET', '/api/v1/settings/imports')).json().imports.maxEntries).toBe(400_000);
    const audited = await t.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'settings.update')
      .execute();
    expect(audited.map((a) => (a.details.after as { maxEntries: number }).maxEntries)).toContain(400_000);
    await setLimits({ maxEntries: 500_000 });
  });

  it('runs one import at a time per organization: a second one gets a clear 409', async () => {
    await setLimits({ maxUncompressedBytes: 20 * 1024 * MiB, maxCompressionRatio: 100 });
    const slow = new PassThrough();
    const first = upload('first', slow);
    slow.write(Buffer.alloc(64 * 1024));
    // The first upload holds the slot once its file is being written.
    for (let i = 0; i < 100 && (await uploads()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await uploads()).toHaveLength(1);
    const second = await upload('second', await smallZip({ 'manifest.json': manifest, 'dump.sql': 'select 1;' }));
    expect(second.statusCode, second.body).toBe(409);
    expect(second.json().error.code).toBe('MARINA_E_IMPORT_BUSY');
    expect(second.json().error.message).toMatch(/Another import is being uploaded/);
    slow.end();
    // Not a backup (zeros; then text): refused as what it is, and the slot is given back.
    expect((await first).json().error.code).toBe('MARINA_E_IMPORT_NOT_A_BACKUP');
    const third = await upload('third', Buffer.from('not a zip'));
    expect(third.json().error.code).toBe('MARINA_E_IMPORT_NOT_A_BACKUP');
    expect(third.json().error.message).toMatch(/^This file is a text file, not an Odoo backup\./);
    expect(await uploads()).toEqual([]);
  });
});
