import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeNamespace, requireDocker, TEST_IMAGES, testNamespace } from '../../../test/helpers/docker.js';
import { frames } from '../../../test/helpers/volumes.js';
import { BackupFileWriter } from '../../adapters/archive/backup-file.js';
import { zstdFramesDecompress } from '../../adapters/archive/zstd-frames.js';
import type { ArchiveKind } from '../../odoo/backup-archive.js';
import { DockerRuntime } from '../../runtime/docker/runtime.js';
import { LABEL_NAMESPACE } from '../../runtime/port.js';
import { type ArchiveSource, writeNativeArchive } from './archive-write.js';
import type { DataPlane } from './data-plane.js';

/**
 * The dump part of a native archive made beside the data, against a real PostgreSQL: a table's data
 * file that grows past the threshold is compressed while pg_dump writes it, and then goes into the
 * archive as the tar entry it would have been. Each data file in the archive must be byte for byte
 * the one a plain `pg_dump -Fd` of the same database writes.
 */
const namespace = testNamespace();
const labels = { [LABEL_NAMESPACE]: namespace };
const network = `${namespace}-net`;
const server = `${namespace}-pg`;
const volume = `${namespace}-data`;
const DB = 'odoo_follow';
const MANY = 300;
const role = { user: 'tenant', password: `pw${randomUUID().slice(0, 8)}` };
let dir: string;

async function exec(container: string, command: string[]): Promise<string> {
  const run = await docker.getContainer(container).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await run.start({});
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise((resolve) => stream.on('end', resolve));
  const output = frames(Buffer.concat(chunks));
  let state = await run.inspect();
  while (state.Running) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    state = await run.inspect();
  }
  const { ExitCode } = state;
  if (ExitCode !== 0) throw new Error(`${command.join(' ')} failed (${ExitCode}): ${output}`);
  return output;
}

const psql = (sql: string, db = 'postgres') =>
  exec(server, ['psql', '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qXAt', '-c', sql]);

const plane = (followDumpFromBytes?: number): DataPlane => ({
  runtime: new DockerRuntime('unix:///var/run/docker.sock'),
  namespace,
  toolsImage: TEST_IMAGES.postgres,
  network,
  internal: { host: server, port: 5432 },
  admin: { host: 'unused', port: 5432, user: 'unused', password: 'unused' },
  jobs: 2,
  operationId: randomUUID(),
  ...(followDumpFromBytes === undefined ? {} : { followDumpFromBytes }),
});

const source = (kind: ArchiveKind): ArchiveSource => ({
  db: DB,
  role,
  volume,
  kind,
  manifest: { odoo_dump: '1', db_name: DB } as unknown as ArchiveSource['manifest'],
});

type Files = Map<string, { sha256: string; size: number; mode: number; uid: number }>;

/** The tar entries of a tar stream: name → content's sha256, size, mode and owner. */
async function entriesOf(tar: Readable): Promise<Files> {
  const files: Files = new Map();
  const extract = tarStream.extract();
  extract.on('entry', (header, stream, next) => {
    const hash = createHash('sha256');
    let size = 0;
    stream.on('data', (chunk) => {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    });
    stream.on('end', () => {
      files.set(header.name, { sha256: hash.digest('hex'), size, mode: header.mode ?? 0, uid: header.uid ?? -1 });
      next();
    });
  });
  await pipeline(tar, extract);
  return files;
}

/** A native archive of the database made beside it; its entries and the job's log. */
async function archive(kind: ArchiveKind, followFrom?: number, folder = dir) {
  const path = join(folder, `${randomUUID()}.tar.zst`);
  const writer = await BackupFileWriter.create(path);
  const log: string[] = [];
  try {
    await writeNativeArchive(plane(followFrom), source(kind), writer, (m) => log.push(m));
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const bytes = await readFile(path);
  const tar = Readable.from([bytes]).pipe(zstdFramesDecompress());
  return { files: await entriesOf(tar), log: log.join('\n') };
}

/** What a plain `pg_dump -Fd` of the database writes: its data files (`NNNN.dat`), size and sha256. */
async function plainDump(): Promise<Map<string, { sha256: string; size: number }>> {
  const dumped = `/tmp/plain-${randomUUID()}`;
  await exec(server, ['pg_dump', '-U', 'postgres', '-Fd', '--compress=0', '-f', dumped, DB]);
  const listed = await exec(server, [
    'sh',
    '-c',
    'cd "$1" && for f in *.dat; do echo "$f $(stat -c %s "$f") $(sha256sum < "$f" | cut -d " " -f 1)"; done',
    'sh',
    dumped,
  ]);
  return new Map(
    listed
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([name]) => /^\d+\.dat$/.test(name ?? ''))
      .map(([name, size, sha256]) => [`dump/${name}`, { sha256: sha256 ?? '', size: Number(size) }]),
  );
}

/** The data files (`NNNN.dat`) and their contents; toc.dat holds the time of the dump. */
const dataFiles = (files: Files) =>
  new Map(
    [...files]
      .filter(([name]) => /^dump\/\d+\.dat$/.test(name))
      .map(([name, { sha256, size }]) => [name, { sha256, size }]),
  );

describe('the dump part of a native archive, made beside the data', () => {
  beforeAll(async () => {
    await requireDocker();
    dir = await mkdtemp(join(tmpdir(), 'marina-beside-dump-'));
    await docker.createNetwork({ Name: network, Labels: labels });
    await docker.createVolume({ Name: volume, Labels: labels });
    const container = await docker.createContainer({
      Image: TEST_IMAGES.postgres,
      name: server,
      Env: [`POSTGRES_PASSWORD=${randomUUID()}`],
      Labels: labels,
      HostConfig: { NetworkMode: network },
    });
    await container.start();
    // The image's first start runs a server on its socket only, then the real one: TCP means ready.
    for (let tries = 0; ; tries++) {
      const ready = await exec(server, ['pg_isready', '-h', '127.0.0.1', '-q']).then(
        () => true,
        () => false,
      );
      if (ready) break;
      if (tries > 120) throw new Error('PostgreSQL did not start');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await psql(`CREATE ROLE ${role.user} LOGIN PASSWORD '${role.password}'`);
    await psql(`CREATE DATABASE ${DB} OWNER ${role.user}`);
    // About 150 MB of rows in one table: its data file grows for a second or more while pg_dump writes
    // it. Beside it, small tables that go through tar (one of them empty).
    await psql(
      `CREATE TABLE big AS SELECT g AS id, md5(g::text) || repeat(chr(97 + g % 26), 80) AS line FROM generate_series(1, 1200000) g;
       CREATE TABLE small AS SELECT g AS id FROM generate_series(1, 1000) g;
       CREATE TABLE empty (id int);
       ALTER TABLE big OWNER TO ${role.user}; ALTER TABLE small OWNER TO ${role.user}; ALTER TABLE empty OWNER TO ${role.user};`,
      DB,
    );
    // And, as Odoo has, hundreds of small tables: pg_dump's second job makes and closes their files
    // while the big one is dumped, each in a moment, which is when a file can be listed short.
    await psql(
      `DO $$ BEGIN FOR n IN 1..${MANY} LOOP
         EXECUTE format('CREATE TABLE many_%s AS SELECT g AS id, md5(g::text) AS line FROM generate_series(1, %s) g', n, n * 7);
         EXECUTE format('ALTER TABLE many_%s OWNER TO ${role.user}', n);
       END LOOP; END $$;`,
      DB,
    );
  }, 300_000);

  afterAll(async () => {
    await removeNamespace(namespace);
    await rm(dir, { recursive: true, force: true });
  });

  it('compresses the large data file while pg_dump writes it, and archives every file as pg_dump wrote it', async () => {
    const plain = await plainDump();
    expect(plain.size).toBe(3 + MANY);
    const { files, log } = await archive('full', 1024 * 1024);
    // The small tables' files are written while the big one is still being dumped.
    expect(log).toMatch(/\(1 data file compressed as it wrote them, \d+ archived once written\)/);
    expect(log).toMatch(/The parts were joined in place/);
    expect(dataFiles(files)).toEqual(plain);
    expect(files.has('dump/toc.dat')).toBe(true);
    expect(files.has('manifest.json')).toBe(true);
    for (const [name, file] of files) if (name.startsWith('dump/')) expect(file).toMatchObject({ mode: 0o600, uid: 0 });
  }, 180_000);

  it('ends the tar after the followed file when no filestore part follows', async () => {
    const plain = await plainDump();
    const { files, log } = await archive('database', 1024 * 1024);
    expect(log).toMatch(/\(1 data file compressed as it wrote them, \d+ archived once written\)/);
    expect(dataFiles(files)).toEqual(plain);
    expect([...files.keys()].filter((name) => name.startsWith('filestore/'))).toEqual([]);
  }, 180_000);

  it('joins the parts by a copy where the file system cannot join them in place (tmpfs): the same files', async (context) => {
    if (!existsSync('/dev/shm')) return context.skip();
    const plain = await plainDump();
    const folder = await mkdtemp('/dev/shm/marina-beside-dump-');
    try {
      const { files, log } = await archive('full', 1024 * 1024, folder);
      expect(log).toMatch(/The parts were joined in \d/);
      expect(dataFiles(files)).toEqual(plain);
      expect(files.has('dump/toc.dat')).toBe(true);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }, 180_000);

  it("fails with pg_dump's error when the database is not there, and leaves nothing beside the backup", async () => {
    const folder = await mkdtemp(join(dir, 'failing-'));
    const path = join(folder, 'backup.tar.zst');
    const writer = await BackupFileWriter.create(path);
    const missing = { ...source('full'), db: 'odoo_missing' };
    await expect(writeNativeArchive(plane(1024 * 1024), missing, writer, () => undefined)).rejects.toThrow(
      /pg_dump or tar failed[\s\S]*odoo_missing/,
    );
    // Only the writer's own file, which its abort removes: no part, no probe.
    expect(await readdir(folder)).toEqual(['backup.tar.zst.partial']);
    await writer.abort();
    expect(await readdir(folder)).toEqual([]);
  }, 180_000);

  it('follows no file under its threshold, and archives the same data files', async () => {
    const plain = await plainDump();
    const { files, log } = await archive('full', 1024 * 1024 * 1024);
    expect(log).not.toMatch(/compressed as it wrote/);
    expect(dataFiles(files)).toEqual(plain);
  }, 180_000);
});
