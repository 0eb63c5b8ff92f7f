import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { as, type Browser, type TestApp } from '../../../test/helpers/app.js';
import {
  docker,
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { withClient } from '../../adapters/postgres/admin.js';

/**
 * Backups, restores, clones and imports against the real Docker engine and PostgreSQL, with
 * Marina's Odoo STAND-IN (test/standin) as the Odoo process: the platform flow. test/odoo/
 * proves the same against real Odoo 17.
 */
export const namespace = testNamespace();
export const fixtureZip = join(
  process.env.MARINA_FIXTURES ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures'),
  'odoo-backups',
  'odoo17-database-manager.zip',
);
export let t: TestApp;
export let admin: Browser;
export let baseUrl: string;
export let headers: Record<string, string>;
export let instance: { id: string; url: string; name: string; dbName: string };
export let projectId: string;

export async function sql<T extends pg.QueryResultRow>(db: string, text: string, values: unknown[] = []): Promise<T[]> {
  const server = await t.services.databaseServers.forInstances('local');
  const connection = await t.services.databaseServers.connection(server);
  return withClient(connection, db, async (c) => (await c.query<T>(text, values)).rows);
}

export async function param(db: string, key: string): Promise<string | undefined> {
  return (await sql<{ value: string }>(db, 'select value from ir_config_parameter where key = $1', [key]))[0]?.value;
}

export async function backup(kind: string, format: string) {
  const created = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/backups`, { kind, format });
  expect(created.statusCode).toBe(202);
  const { job, logs } = await followJob(baseUrl, headers, created.json().job.id);
  expect(job.error).toBeNull();
  expect(job.status).toBe('succeeded');
  const made = (await as(t, admin)('GET', `/api/v1/backups/${created.json().backup.id}`)).json().backup;
  return { ...made, jobLogs: logs as string[] };
}

export function zipEntries(buffer: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      const entries = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(entries));
      zip.readEntry();
    });
  });
}

export function makeZip(files: Record<string, string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

export function upload(query: string, body: Buffer, who: Browser = admin) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/imports?${query}`,
    headers: { cookie: who.cookie, 'x-marina-csrf': who.csrf, 'content-type': 'application/zip' },
    payload: body,
  });
}

/** Runs a fixed script on the instance's data volume (mounted at /data); arguments as $1, $2…. */
export async function onVolume(script: string, ...args: string[]): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  await docker.run(TEST_IMAGES.postgres, ['sh', '-euc', script, 'sh', ...args], out, {
    HostConfig: {
      Mounts: [
        {
          Type: 'volume',
          Source: `${namespace}-filestore-${instance.id.replace(/-/g, '').slice(0, 16)}`,
          Target: '/data',
        },
      ],
      AutoRemove: true,
    },
  });
  // docker.run attaches a terminal: its lines end in \r\n.
  return text.replace(/\r\n/g, '\n');
}

/** Writes a file into the instance's filestore the way Odoo names it: after the sha1 of `content`. */
export async function addFilestoreFile(content: string): Promise<string> {
  const hash = createHash('sha1').update(content).digest('hex');
  const relative = `${hash.slice(0, 2)}/${hash}`;
  await onVolume(
    'mkdir -p "$(dirname "/data/filestore/$1/$2")"; printf %s "$3" > "/data/filestore/$1/$2"; chown -R 101:101 /data/filestore',
    instance.dbName,
    relative,
    content,
  );
  return relative;
}

/** Each filestore file with whether its content still hashes to its name. */
export async function filestoreFiles(): Promise<Record<string, boolean>> {
  const listing = await onVolume(
    'cd "/data/filestore/$1"; for f in */*; do printf "%s %s\\n" "$f" "$(sha1sum < "$f" | cut -c1-40)"; done',
    instance.dbName,
  );
  return Object.fromEntries(
    listing
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .map(([name, hash]) => [name ?? '', name?.endsWith(`/${hash}`) ?? false]),
  );
}

/** Made on first use and shared after: each test that needs it runs alone too (`-t`). */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

/** Starts Marina in Docker with one provisioned stand-in instance for the test file, and removes it all after. */
export function startMarinaWithStandinInstance(): void {
  beforeAll(async () => {
    await requireDocker();
    ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
      MARINA_UPLOAD_LIMIT_MB: '5',
    }));
    ({ instance } = await provisionInstance({ t, admin, baseUrl, headers }));
    projectId = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}`)).json().instance.projectId;
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await removeNamespace(namespace);
  });
}
