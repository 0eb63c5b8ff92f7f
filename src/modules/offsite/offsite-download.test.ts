import { createHash } from 'node:crypto';
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type TestApp } from '../../../test/helpers/app.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { type SftpTestServer, startSftpServer } from '../../../test/helpers/sftp-server.js';
import { withClient } from '../../adapters/postgres/admin.js';

/**
 * A download served from an offsite copy is checked against the backup's sha256 as it streams: a
 * copy damaged at the destination (here, one byte changed in place on a real SFTP server) gives a
 * cut download over a real socket, never a complete-looking file.
 */
const namespace = testNamespace();
let t: TestApp;
let admin: Browser;
let baseUrl: string;
let headers: Record<string, string>;
let instance: { id: string; url: string; name: string; dbName: string };
let sftp: SftpTestServer;
let backup: { id: string; sha256: string; sizeBytes: number };
let destinationId: string;

beforeAll(async () => {
  await requireDocker();
  sftp = await startSftpServer();
  ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, {
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    MARINA_TEST_CAPTURE_LOGS: '1',
  }));
  ({ instance } = await provisionInstance({ t, admin, baseUrl, headers }));
  // A few MB of data that does not compress away: the download takes many chunks.
  // As the tenant's own role, as the tenant would: backups read the database as that role.
  const asTenant = await t.services.databaseServers.forInstance(await t.services.instances.row(instance.id));
  await withClient(asTenant, instance.dbName, (c) =>
    c.query('create table marina_bulk as select i, md5(random()::text) as pad from generate_series(1, 60000) i'),
  );
  const api = as(t, admin);
  // sshd listens on loopback, an internal range only a platform admin can allow.
  const allowed = await api('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] });
  expect(allowed.statusCode, allowed.body).toBe(200);
  const acme = (await api('GET', '/api/v1/organizations/acme')).json().organization;
  const destination = await api('POST', '/api/v1/destinations', {
    organizationId: acme.id,
    name: 'storage box',
    kind: 'sftp',
    sftp: { host: sftp.host, port: sftp.port, username: sftp.username, folder: 'dl', privateKey: sftp.privateKey },
  });
  expect(destination.statusCode, destination.body).toBe(201);
  destinationId = destination.json().destination.id;
  backup = await offsiteOnlyBackup('full');
}, 300_000);

/** A backup whose only file is its copy at the SFTP server. */
async function offsiteOnlyBackup(kind: 'full' | 'filestore'): Promise<typeof backup> {
  const api = as(t, admin);
  const made = await api('POST', `/api/v1/instances/${instance.id}/backups`, {
    kind,
    format: 'native',
    destinationIds: [destinationId],
  });
  expect(made.statusCode, made.body).toBe(202);
  const { job, logs } = await followJob(baseUrl, headers, made.json().job.id, 180_000);
  expect(job.error, logs.join('\n')).toBeNull();
  const found = (await api('GET', `/api/v1/backups/${made.json().backup.id}`)).json().backup;
  await t.db.updateTable('backups').set({ local_status: 'deleted' }).where('id', '=', found.id).execute();
  const folder = join(t.config.backups.dir, instance.id);
  for (const name of await readdir(folder)) if (name.startsWith(found.id)) await rm(join(folder, name));
  return found;
}

/** Changes one byte in the middle of the backup's file at the SFTP server, in place. */
async function damageRemote(of: typeof backup): Promise<void> {
  const folder = join(sftp.home, 'dl', instance.id);
  const name = (await readdir(folder)).find((n) => n.startsWith(of.id));
  if (!name) throw new Error(`no remote file for ${of.id}`);
  const file = await open(join(folder, name), 'r+');
  try {
    const middle = Math.floor(of.sizeBytes / 2);
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, middle);
    await file.write(Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, middle);
  } finally {
    await file.close();
  }
}

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
  await sftp?.stop();
});

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('not within the time allowed');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const download = () => fetch(`${baseUrl}/api/v1/backups/${backup.id}/download`, { headers });

describe('a download from an offsite copy', { timeout: 120_000 }, () => {
  it('is whole and verified when the copy is intact', async () => {
    const answer = await download();
    expect(answer.status).toBe(200);
    const body = Buffer.from(await answer.arrayBuffer());
    expect(body.length).toBe(backup.sizeBytes);
    expect(backup.sizeBytes).toBeGreaterThan(1024 * 1024);
    expect(createHash('sha256').update(body).digest('hex')).toBe(backup.sha256);
  });

  it('is cut short, logged and audited when the copy was damaged in place', async () => {
    await damageRemote(backup);

    const answer = await download();
    expect(answer.status, answer.status === 200 ? '' : `${await answer.text()}\n${t.logs.slice(-5).join('')}`).toBe(
      200,
    );
    expect(answer.headers.get('content-length')).toBe(String(backup.sizeBytes));
    // The connection is dropped before the last bytes: the client knows the file is broken.
    await expect(answer.arrayBuffer()).rejects.toThrow();

    // Recorded as the stream fails, alongside the client's broken read.
    const audit = await eventually(async () => {
      const rows = await t.db
        .selectFrom('audit_events')
        .selectAll()
        .where('action', '=', 'backup.download_mismatch')
        .where('target_id', '=', backup.id)
        .execute();
      return rows.length > 0 ? rows : undefined;
    });
    expect(audit).toHaveLength(1);
    expect(audit[0]?.details).toMatchObject({ expected: backup.sha256, bytes: backup.sizeBytes });
    const copies = await eventually(async () => {
      const found = (await as(t, admin)('GET', `/api/v1/backups/${backup.id}`)).json().backup.copies;
      return found[0]?.status === 'failed' ? found : undefined;
    });
    expect(copies).toEqual([expect.objectContaining({ status: 'failed', error: expect.stringMatching(/checksum/) })]);
    // The damaged copy is not served again.
    const again = await download();
    expect(again.status).toBe(409);
  });

  it('answers an error, and sends no file, when a small damaged copy fails before the first byte', async () => {
    const small = await offsiteOnlyBackup('filestore');
    await damageRemote(small);
    const answer = await fetch(`${baseUrl}/api/v1/backups/${small.id}/download`, { headers });
    const body = await answer.text().catch(() => '');
    expect(answer.status, `${body}\n${t.logs.slice(-6).join('')}`).toBe(409);
    expect(body).toContain('MARINA_E_BACKUP_UNAVAILABLE');
  });
});
