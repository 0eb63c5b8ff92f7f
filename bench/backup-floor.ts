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

/**
 * `tar -c | zstd -1 > file`, two processes joined by a pipe, as a shell would run them: tar's pipe is
 * zstd's stdin, so the bytes go from one to the other in the kernel. Piped through this process, they
 * cost it CPU and left about 50 MiB more resident, counted in Marina's next phase.
 */
async function tarZstd(folder: string, output: string): Promise<void> {
  const tar = spawn('tar', ['-C', folder, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const zstd = spawn('zstd', ['-1', '-q', '-f', '-o', output], { stdio: [tar.stdout, 'ignore', 'inherit'] });
  const exit = (child: ReturnType<typeof spawn>, name: string, event: 'exit' | 'close') =>
    new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on(event, (code) => (code === 0 ? resolve() : reject(new Error(`${name} exited with ${code}`))));
    });
  // This process never reads tar's pipe, so tar's 'close' (all its streams ended) would not come.
  await Promise.all([exit(tar, 'tar', 'exit'), exit(zstd, 'zstd', 'close')]).finally(() => tar.stdout.destroy());
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
