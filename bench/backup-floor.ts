/**
 * The floor a native backup is measured against: the standard tools alone on the same data, side by
 * side — `pg_dump -Fd -j N --compress=0` into a fresh volume (the PostgreSQL image, on the instances'
 * network) beside `tar | zstd -1` of the filestore folder, read straight from the volume's folder on
 * this host. No archive, no checksum, no fsync: what any backup must at least do.
 */
import { execFile, spawn } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface FloorInput {
  /** The PostgreSQL image (its pg_dump matches the server). */
  image: string;
  network: string;
  db: { host: string; port: number; user: string; password: string; name: string };
  /** The instance's data volume; its filestore folder is `filestore/<db>`. */
  volume: string;
  jobs: number;
  /** Where the compressed filestore goes (removed after). */
  workDir: string;
  labels: Record<string, string>;
}

export interface Floor {
  ms: number;
  dumpMs: number;
  filesMs: number;
  filesBytes: number;
}

/** How long `work` takes, in ms. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** `pg_dump -Fd -j N --compress=0` as the superuser into `volume`'s `dump` folder. */
export async function dump(input: FloorInput, volume: string): Promise<void> {
  const labels = Object.entries(input.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await run('docker', [
    'run',
    '--rm',
    ...labels,
    '--network',
    input.network,
    '--mount',
    `type=volume,source=${volume},target=/out`,
    '-e',
    `PGPASSWORD=${input.db.password}`,
    '--entrypoint',
    'pg_dump',
    input.image,
    '--host',
    input.db.host,
    '--port',
    String(input.db.port),
    '--username',
    input.db.user,
    '--format=directory',
    `--jobs=${input.jobs}`,
    '--compress=0',
    '--no-owner',
    '--file',
    '/out/dump',
    input.db.name,
  ]);
}

/** `tar -c | zstd -1 > file`, two processes joined by a pipe, as a shell would run them. */
async function tarZstd(folder: string, output: string): Promise<void> {
  const tar = spawn('tar', ['-C', folder, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const zstd = spawn('zstd', ['-1', '-q', '-f', '-o', output], { stdio: ['pipe', 'ignore', 'inherit'] });
  tar.stdout.pipe(zstd.stdin);
  const exit = (child: ReturnType<typeof spawn>, name: string) =>
    new Promise<void>((resolve, reject) =>
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${name} exited with ${code}`)))),
    );
  await Promise.all([exit(tar, 'tar'), exit(zstd, 'zstd')]);
}

export async function measureFloor(input: FloorInput): Promise<Floor> {
  const { stdout } = await run('docker', ['volume', 'inspect', '--format', '{{.Mountpoint}}', input.volume]);
  const folder = join(stdout.trim(), 'filestore', input.db.name);
  const output = join(input.workDir, 'floor-filestore.tar.zst');
  const scratch = `${input.volume}-floor`;
  await run('docker', [
    'volume',
    'create',
    ...Object.entries(input.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    scratch,
  ]);
  try {
    let dumpMs = 0;
    let filesMs = 0;
    const ms = await timed(() =>
      Promise.all([
        timed(() => dump(input, scratch)).then((t) => {
          dumpMs = t;
        }),
        timed(() => tarZstd(folder, output)).then((t) => {
          filesMs = t;
        }),
      ]),
    );
    const filesBytes = (await stat(output)).size;
    return { ms, dumpMs, filesMs, filesBytes };
  } finally {
    await run('docker', ['volume', 'rm', '-f', scratch]).catch(() => undefined);
    await rm(output, { force: true });
  }
}
