import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeNamespace, requireDocker, TEST_IMAGES, testNamespace } from '../../../test/helpers/docker.js';
import { inVolumes as inVolumesOf } from '../../../test/helpers/volumes.js';
import { BackupFileWriter } from '../../adapters/archive/backup-file.js';
import { zstdFramesDecompress } from '../../adapters/archive/zstd-frames.js';
import { DockerRuntime } from '../../runtime/docker/runtime.js';
import { LABEL_NAMESPACE } from '../../runtime/port.js';
import type { ArchiveSource } from './archive-write.js';
import { writeNativeArchive } from './archive-write.js';
import type { DataPlane } from './data-plane.js';

/**
 * A native archive's filestore part made beside the data (archive-beside): by GNU tar and zstd in a
 * tools container, written into a file beside the backup. The filestore is a tenant's: what it
 * plants (links, FIFOs, a linked folder) must not reach the archive. A tools image without zstd
 * falls back to the engine's archive API and makes the same archive. (The dump part is covered by
 * the backup and restore tests on a real PostgreSQL.)
 */
const namespace = testNamespace();
const labels = { [LABEL_NAMESPACE]: namespace };
const volume = `${namespace}-data`;
const DB = 'odoo_beside';
const NO_ZSTD_IMAGE = `marina-test/postgres-no-zstd:${namespace}`;
const A = `ab/ab${'1'.repeat(38)}`;
const LONG = `cd/${'x'.repeat(120)}/${'y'.repeat(120)}`;

const planeOf = (toolsImage: string): DataPlane => ({
  runtime: new DockerRuntime('unix:///var/run/docker.sock'),
  namespace,
  toolsImage,
  network: 'none',
  internal: { host: 'unused', port: 5432 },
  admin: { host: 'unused', port: 5432, user: 'unused', password: 'unused' },
  jobs: 1,
  operationId: randomUUID(),
});

const sourceOf = (db: string): ArchiveSource => ({
  db,
  role: { user: 'unused', password: 'unused' },
  volume,
  kind: 'filestore',
  manifest: { odoo_dump: '1', db_name: db } as unknown as ArchiveSource['manifest'],
});

const inVolume = (script: string) => inVolumesOf(docker, { [volume]: '/data' }, script, labels);

interface Entry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  content: string;
}

async function entriesOf(path: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  const extract = tarStream.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c) => chunks.push(c as Buffer));
    stream.on('end', () => {
      const { name, type, mode, uid } = header;
      entries.push({
        name,
        type: type ?? 'file',
        mode: mode ?? 0,
        uid: uid ?? -1,
        content: Buffer.concat(chunks).toString(),
      });
      next();
    });
  });
  await pipeline(Readable.from([await readFile(path)]), zstdFramesDecompress(), extract);
  return entries;
}

let dir: string;

/** Archives `db`'s filestore with `image` as the tools image; the archive's entries and the job's log. */
async function archive(image: string, db = DB) {
  const path = join(dir, `${randomUUID()}.tar.zst`);
  const writer = await BackupFileWriter.create(path);
  const log: string[] = [];
  try {
    await writeNativeArchive(planeOf(image), sourceOf(db), writer, (m) => log.push(m));
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { entries: await entriesOf(path), log: log.join('\n') };
}

describe('native archives made beside the data', () => {
  beforeAll(async () => {
    await requireDocker();
    dir = await mkdtemp(join(tmpdir(), 'marina-beside-'));
    await docker.createVolume({ Name: volume, Labels: labels });
    await inVolume(`
      mkdir -p /data/filestore/${DB}/ab /data/filestore/${DB}/cd/${'x'.repeat(120)} /data/filestore/${DB}/zz
      cd /data/filestore/${DB}
      echo first > ${A}; echo long > ${LONG}; : > zz/empty
      ln ${A} zz/hard-link
      ln -s /etc/passwd zz/link; ln -s /etc zz/folder-link; mkfifo zz/fifo
      mkdir -p /data/filestore/elsewhere; echo secret > /data/filestore/elsewhere/secret
      ln -s elsewhere /data/filestore/odoo_linked
    `);
    const maker = await docker.createContainer({
      Image: TEST_IMAGES.postgres,
      Entrypoint: ['rm', '/usr/bin/zstd'],
      Labels: labels,
    });
    await maker.start();
    await maker.wait();
    const [repo, tag] = NO_ZSTD_IMAGE.split(':') as [string, string];
    await maker.commit({ repo, tag });
    await maker.remove({ force: true });
  }, 120_000);

  afterAll(async () => {
    await removeNamespace(namespace);
    await docker
      .getImage(NO_ZSTD_IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  const sorted = (entries: Entry[]) => [entries[0], ...entries.slice(1).sort((a, b) => a.name.localeCompare(b.name))];

  it('holds the manifest first, then only regular files, private and owned by root; a hard link as a file', async () => {
    const { entries, log } = await archive(TEST_IMAGES.postgres);
    expect(log).toMatch(/The filestore's part took/);
    expect(log).not.toMatch(/through the engine/);
    const [manifest, ...files] = sorted(entries);
    expect(manifest?.name).toBe('manifest.json');
    expect(manifest?.content).toBe(JSON.stringify({ odoo_dump: '1', db_name: DB }, null, 4));
    expect(files).toEqual([
      { name: `filestore/${A}`, type: 'file', mode: 0o600, uid: 0, content: 'first\n' },
      { name: `filestore/${LONG}`, type: 'file', mode: 0o600, uid: 0, content: 'long\n' },
      { name: 'filestore/zz/empty', type: 'file', mode: 0o600, uid: 0, content: '' },
      { name: 'filestore/zz/hard-link', type: 'file', mode: 0o600, uid: 0, content: 'first\n' },
    ]);
    expect((await readdir(dir)).filter((n) => n.endsWith('.partial'))).toEqual([]);
  });

  it('gives an empty filestore part for a database that never stored an attachment', async () => {
    const { entries } = await archive(TEST_IMAGES.postgres, 'odoo_no_files');
    expect(entries.map((e) => e.name)).toEqual(['manifest.json']);
  });

  it('refuses a filestore folder that is a symbolic link: nothing is named, no part is left', async () => {
    await expect(archive(TEST_IMAGES.postgres, 'odoo_linked')).rejects.toThrow(/symbolic link/);
    expect(await readdir(dir).then((names) => names.filter((n) => !n.endsWith('.tar.zst')))).toEqual([]);
  });

  it('falls back to the engine when the tools image has no zstd, and makes the same archive', async () => {
    const beside = await archive(TEST_IMAGES.postgres);
    const fallback = await archive(NO_ZSTD_IMAGE);
    expect(fallback.log).toMatch(
      /Archiving through the engine instead: the tools image lacks GNU tar, GNU find, coreutils or zstd/,
    );
    // The engine's path keeps one name of a hard-linked file (either); beside, both are files.
    const linked = [`filestore/${A}`, 'filestore/zz/hard-link'];
    const unlinked = (entries: Entry[]) => sorted(entries).filter((e) => !linked.includes(e?.name ?? ''));
    expect(unlinked(fallback.entries)).toEqual(unlinked(beside.entries));
    expect(fallback.entries.filter((e) => linked.includes(e.name)).map((e) => e.content)).toEqual(['first\n']);
  });
});
