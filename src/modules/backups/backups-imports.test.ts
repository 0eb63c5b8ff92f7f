import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { as } from '../../../test/helpers/app.js';
import { docker, TEST_IMAGES } from '../../../test/helpers/docker.js';
import { followJob } from '../../../test/helpers/jobs.js';
import {
  admin,
  baseUrl,
  fixtureZip,
  headers,
  makeZip,
  namespace,
  param,
  projectId,
  sql,
  startMarinaWithStandinInstance,
  t,
  upload,
} from './backups-test-support.js';

startMarinaWithStandinInstance();

describe('imports (stand-in Odoo)', () => {
  const query = (name: string) => `project=${projectId}&name=${name}&stage=staging&adminLogin=dev%40acme.test`;

  async function nothingChanged(before: { instances: number; backups: number }) {
    const instances = (await as(t, admin)('GET', '/api/v1/instances')).json().instances.length;
    const backups = (await as(t, admin)('GET', '/api/v1/backups')).json().backups.length;
    expect({ instances, backups }).toEqual(before);
    const uploads = join(t.config.backups.dir, 'uploads');
    expect(existsSync(uploads) ? await readdir(uploads) : []).toEqual([]);
  }

  async function counts() {
    return {
      instances: (await as(t, admin)('GET', '/api/v1/instances')).json().instances.length,
      backups: (await as(t, admin)('GET', '/api/v1/backups')).json().backups.length,
    };
  }

  it('refuses a zip with ../ paths (zip-slip), one without dump.sql, a corrupted one, and one over the size limit — changing nothing', async () => {
    const before = await counts();
    const manifest = JSON.stringify({
      odoo_dump: '1',
      db_name: 'x',
      version: '17.0',
      major_version: '17.0',
      modules: {},
    });
    // yazl refuses "../" itself; the name is patched in afterwards, as an attacker would.
    const slip = await makeZip({ 'manifest.json': manifest, 'dump.sql': 'select 1;', 'AA/evil.txt': 'x' });
    const evil = Buffer.from(slip.toString('latin1').replaceAll('AA/evil.txt', '../evil.txt'), 'latin1');
    const slipped = await upload(query('slip'), evil);
    expect(slipped.statusCode).toBe(400);
    expect(slipped.json().error.code).toBe('MARINA_E_ARCHIVE_INVALID');
    expect(slipped.json().error.message).toMatch(/\.\.\/evil\.txt.*outside/);

    const noDump = await upload(query('nodump'), await makeZip({ 'manifest.json': manifest, 'filestore/ab/cd': 'x' }));
    expect(noDump.statusCode).toBe(400);
    expect(noDump.json().error.message).toMatch(/no dump\.sql/);

    const noManifest = await upload(query('nomanifest'), await makeZip({ 'dump.sql': 'select 1;' }));
    expect(noManifest.json().error.message).toMatch(/no manifest\.json/);

    const good = await makeZip({ 'manifest.json': manifest, 'dump.sql': 'select 1;'.repeat(100) });
    const damaged = Buffer.from(good);
    damaged.writeUInt8((damaged[60] ?? 0) ^ 0xff, 60);
    const corrupted = await upload(query('corrupt'), damaged);
    expect(corrupted.statusCode).toBe(400);
    expect(corrupted.json().error.code).toBe('MARINA_E_ARCHIVE_INVALID');

    const truncated = await upload(query('truncated'), good.subarray(0, good.length - 30));
    expect(truncated.json().error.code).toBe('MARINA_E_ARCHIVE_INVALID');

    const big = await upload(query('big'), Buffer.alloc(6 * 1024 * 1024, 1));
    expect(big.statusCode).toBe(413);
    expect(big.json().error.message).toMatch(/5 MB/);
    await nothingChanged(before);
  });

  it.skipIf(!existsSync(fixtureZip))(
    "imports the zip made by Odoo 17's database manager as a new instance",
    async () => {
      const body = await readFile(fixtureZip);
      const imported = await upload(query('imported'), body);
      expect(imported.statusCode).toBe(202);
      expect(imported.json().backup).toMatchObject({ trigger: 'import', format: 'zip', status: 'completed' });
      const { job } = await followJob(baseUrl, headers, imported.json().job.id, 60_000).catch(async (e) => {
        console.log((await as(t, admin)('GET', `/api/v1/jobs/${imported.json().job.id}/logs`)).body.slice(-3000));
        throw e;
      });
      expect(job.error).toBeNull();
      const copy = imported.json().instance;
      const users = await sql<{ login: string }>(copy.dbName, 'select login from res_users where active');
      expect(users.length).toBeGreaterThan(0);
      expect(await param(copy.dbName, 'web.base.url')).toBe(copy.url);
      const files = await sql<{ store_fname: string }>(
        copy.dbName,
        'select store_fname from ir_attachment where store_fname is not null limit 1',
      );
      expect(files.length).toBe(1);
      // The data folder, restored files and their folders belong to Odoo's user: it keeps its sessions
      // there and adds attachments beside the restored ones.
      const owners = new PassThrough();
      let out = '';
      owners.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      await docker.run(
        TEST_IMAGES.postgres,
        ['sh', '-c', '{ stat -c %u /data; find /data/filestore -mindepth 1 -exec stat -c %u {} +; } | sort -u'],
        owners,
        {
          HostConfig: {
            Mounts: [
              {
                Type: 'volume',
                Source: `${namespace}-filestore-${copy.id.replace(/-/g, '').slice(0, 16)}`,
                Target: '/data',
              },
            ],
            AutoRemove: true,
          },
        },
      );
      expect(out.trim()).toBe('101');
    },
    240_000,
  );
});
