/**
 * The yardstick for Marina's backups: Odoo's own database manager on the same database. Starts a
 * temporary Odoo (image + source mount as Marina runs it, database manager enabled), times
 * `POST /web/database/backup` (zip, with the filestore) and `POST /web/database/restore` (as a
 * copy under a new name), checks the copy exists, drops it and removes everything it made.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import pg from 'pg';
import tarStream from 'tar-stream';

const ODOO_UID = 101;
const DATA_DIR = '/var/lib/odoo';
const SOURCE_MOUNT = '/opt/odoo';

export interface PgConnection {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface OdooOwnBackupOptions {
  engine: Dockerode;
  /** An image with the official odoo image's contract, e.g. marina-test/odoo-runtime. */
  image: string;
  /** An Odoo 17 source tree on the Docker host, mounted read-only at /opt/odoo. */
  sourceDir: string;
  /** The Docker network on which `db` is reachable. */
  network: string;
  /** A superuser, as reachable from containers on `network`. */
  db: PgConnection;
  /** The same superuser as reachable from this process (default: `db`). */
  hostDb?: PgConnection;
  /** The database to back up; its filestore is `filestore/<database>` in `volume`. */
  database: string;
  /** The Docker volume holding Odoo's data_dir (mounted at /var/lib/odoo). */
  volume: string;
  /** Where the backup zip is written (and removed again unless keepBackup). */
  workDir: string;
  keepBackup?: boolean;
  /** Added to the containers this makes (e.g. a namespace label, so that a sweep finds leftovers). */
  labels?: Record<string, string>;
  /** For each HTTP call to the database manager; default 30 minutes. */
  requestTimeoutMs?: number;
  onProgress?: (msg: string) => void;
}

export interface OdooOwnBackupResult {
  backupSeconds: number;
  backupBytes: number;
  restoreSeconds: number;
  restoredDatabase: string;
}

async function withPg<T>(conn: PgConnection, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    ...conn,
    database: 'postgres',
    connectionTimeoutMillis: 10_000,
    application_name: 'marina-bench',
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const databaseExists = (conn: PgConnection, name: string): Promise<boolean> =>
  withPg(conn, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);

/**
 * Odoo's odoo.conf: the database manager on, a master password of our own, no limits that would
 * cut a long call. The manager only handles databases its db_user owns, or, with db_name set and
 * no dbfilter, exactly the db_name list: the source belongs to the instance's role, so db_name it
 * is (Odoo also loads that database's registry at start, and would create it if it were missing).
 */
function renderConf(db: PgConnection, database: string, adminPassword: string): string {
  const options: [string, string | number][] = [
    ['db_host', db.host],
    ['db_port', db.port],
    ['db_user', db.user],
    ['db_password', db.password],
    ['db_name', database],
    ['admin_passwd', adminPassword],
    ['list_db', 'True'],
    ['data_dir', DATA_DIR],
    ['addons_path', `${SOURCE_MOUNT}/addons`],
    ['without_demo', 'all'],
    ['http_port', 8069],
    ['workers', 0],
    ['max_cron_threads', 0],
    ['limit_time_cpu', 7200],
    ['limit_time_real', 7200],
    ['limit_memory_soft', 8 * 1024 ** 3],
    ['limit_memory_hard', 16 * 1024 ** 3],
  ];
  for (const [key, value] of options) {
    if (/[\r\n\0]/.test(String(value))) throw new Error(`odoo.conf: ${key} must be on one line`);
  }
  return `[options]\n${options.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
}

async function putFile(container: Dockerode.Container, dir: string, name: string, content: string): Promise<void> {
  const pack = tarStream.pack();
  pack.entry({ name, mode: 0o600, uid: ODOO_UID, gid: ODOO_UID }, content);
  pack.finalize();
  await container.putArchive(pack as unknown as NodeJS.ReadableStream, { path: dir });
}

/** The last lines a container wrote (stdout and stderr, Docker's 8-byte frame headers removed). */
async function tail(container: Dockerode.Container, lines = 30): Promise<string> {
  try {
    const raw = (await container.logs({ stdout: true, stderr: true, tail: lines })) as unknown as Buffer;
    const parts: Buffer[] = [];
    let at = 0;
    while (at + 8 <= raw.length && (raw[at] === 1 || raw[at] === 2)) {
      const size = raw.readUInt32BE(at + 4);
      parts.push(raw.subarray(at + 8, at + 8 + size));
      at += 8 + size;
    }
    return (parts.length ? Buffer.concat(parts) : raw).toString('utf8').trim();
  } catch (error) {
    return `(no logs: ${(error as Error).message})`;
  }
}

async function waitForHealth(baseUrl: string, container: Dockerode.Container, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${baseUrl}/web/health`, { signal: AbortSignal.timeout(5000) });
      if (response.status === 200) return;
      last = `answered ${response.status}`;
    } catch (error) {
      last = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    }
    const state = await container.inspect();
    if (!state.State.Running) throw new Error(`Odoo exited (${state.State.ExitCode}):\n${await tail(container)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Odoo did not answer /web/health within ${timeoutMs / 1000} s (${last}):\n${await tail(container)}`);
}

/** The error the database manager shows in its HTML page (it answers 200 with that page on failure). */
function managerError(html: string): string {
  const alert = /<div class="alert alert-danger"[^>]*>([\s\S]*?)<\/div>/.exec(html)?.[1];
  const text = (alert ?? html)
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.slice(0, 500) || '(empty page)';
}

async function readSome(response: http.IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    if (size < limit) chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface Call {
  method: 'POST';
  path: string;
  headers: Record<string, string | number>;
  /** Written in order; strings as they are, { file } streamed from disk. */
  body: (string | { file: string })[];
  timeoutMs: number;
}

/** One HTTP call with node:http: the body is streamed, nothing is buffered, no hidden header/body timeouts. */
function call(port: number, spec: Call): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, method: spec.method, path: spec.path, headers: spec.headers },
      resolve,
    );
    request.setTimeout(spec.timeoutMs, () =>
      request.destroy(new Error(`${spec.path}: no activity for ${spec.timeoutMs / 1000} s`)),
    );
    request.on('error', reject);
    (async () => {
      for (const part of spec.body) {
        if (typeof part === 'string') {
          if (!request.write(part)) await new Promise((r) => request.once('drain', r));
        } else {
          await pipeline(createReadStream(part.file), request, { end: false });
        }
      }
      request.end();
    })().catch((error: Error) => request.destroy(error));
  });
}

const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

async function odooBackup(
  port: number,
  masterPwd: string,
  name: string,
  file: string,
  timeoutMs: number,
): Promise<void> {
  const body = form({ master_pwd: masterPwd, name, backup_format: 'zip' });
  const response = await call(port, {
    method: 'POST',
    path: '/web/database/backup',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) },
    body: [body],
    timeoutMs,
  });
  const type = String(response.headers['content-type'] ?? '');
  if (response.statusCode !== 200 || !/^application\/(octet-stream|zip)/.test(type)) {
    const page = await readSome(response);
    throw new Error(`Odoo's backup failed (HTTP ${response.statusCode}, ${type}): ${managerError(page)}`);
  }
  await pipeline(response, createWriteStream(file));
}

async function odooRestore(
  port: number,
  masterPwd: string,
  name: string,
  file: string,
  timeoutMs: number,
): Promise<void> {
  const boundary = `----marina-bench-${randomBytes(12).toString('hex')}`;
  const field = (key: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n${value}\r\n`;
  const head =
    field('master_pwd', masterPwd) +
    field('name', name) +
    field('copy', 'true') +
    `--${boundary}\r\nContent-Disposition: form-data; name="backup_file"; filename="backup.zip"\r\n` +
    'Content-Type: application/zip\r\n\r\n';
  const end = `\r\n--${boundary}--\r\n`;
  const size = (await stat(file)).size;
  const response = await call(port, {
    method: 'POST',
    path: '/web/database/restore',
    headers: {
      'Content-Type': `multipart/form-data; boundary=${boundary}`,
      'Content-Length': Buffer.byteLength(head) + size + Buffer.byteLength(end),
    },
    body: [head, { file }, end],
    timeoutMs,
  });
  const page = await readSome(response);
  if (response.statusCode !== 303) {
    throw new Error(`Odoo's restore failed (HTTP ${response.statusCode}): ${managerError(page)}`);
  }
}

/** Runs a fixed command (no shell) in a one-off container of the Odoo image, as Odoo's user; its exit code. */
async function runOnce(opts: OdooOwnBackupOptions, cmd: string[]): Promise<number> {
  const container = await opts.engine.createContainer({
    Image: opts.image,
    Cmd: cmd,
    Labels: { 'io.marina.bench': 'odoo-own-backup', ...opts.labels },
    HostConfig: { Mounts: [{ Type: 'volume', Source: opts.volume, Target: DATA_DIR }], NetworkMode: 'none' },
  });
  try {
    await container.start();
    return ((await container.wait()) as { StatusCode: number }).StatusCode;
  } finally {
    await container.remove({ force: true, v: true });
  }
}

/** Drops a restored copy: its database (whoever is connected) and its filestore in the volume. */
async function dropCopy(opts: OdooOwnBackupOptions, hostDb: PgConnection, name: string): Promise<void> {
  await withPg(hostDb, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
  const code = await runOnce(opts, ['rm', '-rf', `${DATA_DIR}/filestore/${name}`]);
  if (code !== 0) throw new Error(`removing the filestore of ${name} exited ${code}`);
}

export async function odooOwnBackupRestore(opts: OdooOwnBackupOptions): Promise<OdooOwnBackupResult> {
  const progress = opts.onProgress ?? (() => {});
  const hostDb = opts.hostDb ?? opts.db;
  const timeoutMs = opts.requestTimeoutMs ?? 30 * 60_000;
  const tag = randomBytes(4).toString('hex');
  const masterPwd = randomBytes(24).toString('base64url');
  // Odoo's name pattern, at most 63 bytes for PostgreSQL.
  const restoredDatabase = `${opts.database.slice(0, 40)}_odoo_copy_${tag}`;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(restoredDatabase)) throw new Error(`unusable name ${restoredDatabase}`);
  const backupFile = join(opts.workDir, `odoo-own-backup-${tag}.zip`);

  // With db_name set, Odoo would create (and initialize) a missing database at start.
  if (!(await databaseExists(hostDb, opts.database))) throw new Error(`there is no database ${opts.database}`);
  // Odoo refuses to run as `postgres`: then it gets a superuser of its own for the time of the run.
  let odooDb = opts.db;
  let tempRole: string | undefined;
  if (opts.db.user === 'postgres') {
    tempRole = `marina_bench_odoo_${tag}`;
    const password = randomBytes(18).toString('base64url');
    await withPg(hostDb, (c) =>
      c.query(
        `CREATE ROLE ${c.escapeIdentifier(tempRole ?? '')} LOGIN SUPERUSER PASSWORD ${c.escapeLiteral(password)}`,
      ),
    );
    odooDb = { ...opts.db, user: tempRole, password };
  }

  let container: Dockerode.Container | undefined;
  let restoreStarted = false;
  let dropped = false;
  /** Removes whatever is left; returns what could not be removed. */
  const cleanup = async (): Promise<string[]> => {
    const problems: string[] = [];
    const attempt = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        problems.push(`${what}: ${(error as Error).message}`);
      }
    };
    if (container) {
      const c = container;
      await attempt('remove the Odoo container', () => c.remove({ force: true, v: true }));
    }
    if (restoreStarted && !dropped) {
      await attempt('drop the restored copy', () => dropCopy(opts, hostDb, restoredDatabase));
    }
    if (tempRole) {
      const role = tempRole;
      await attempt('drop the temporary role', () =>
        withPg(hostDb, (c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(role)}`)),
      );
    }
    if (!opts.keepBackup) await attempt('remove the backup file', () => rm(backupFile, { force: true }));
    return problems;
  };

  let result: OdooOwnBackupResult;
  try {
    container = await opts.engine.createContainer({
      name: `marina-bench-odoo-manager-${tag}`,
      Image: opts.image,
      Cmd: ['odoo', '-c', '/etc/odoo/odoo.conf'],
      Env: [`HOST=${odooDb.host}`, `PORT=${odooDb.port}`, `USER=${odooDb.user}`, `PASSWORD=${odooDb.password}`],
      Labels: { 'io.marina.bench': 'odoo-own-backup', ...opts.labels },
      ExposedPorts: { '8069/tcp': {} },
      HostConfig: {
        NetworkMode: opts.network,
        PortBindings: { '8069/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        Mounts: [
          { Type: 'volume', Source: opts.volume, Target: DATA_DIR },
          { Type: 'bind', Source: opts.sourceDir, Target: SOURCE_MOUNT, ReadOnly: true },
        ],
      },
    });
    await putFile(container, '/etc/odoo', 'odoo.conf', renderConf(odooDb, opts.database, masterPwd));
    await container.start();
    const info = await container.inspect();
    const port = Number(info.NetworkSettings.Ports['8069/tcp']?.[0]?.HostPort);
    if (!port) throw new Error('the Odoo container publishes no port');
    await waitForHealth(`http://127.0.0.1:${port}`, container, 180_000);
    progress(`Odoo answers on 127.0.0.1:${port}`);

    let started = performance.now();
    await odooBackup(port, masterPwd, opts.database, backupFile, timeoutMs);
    const backupSeconds = (performance.now() - started) / 1000;
    const backupBytes = (await stat(backupFile)).size;
    progress(`Odoo's backup: ${backupSeconds.toFixed(1)} s, ${(backupBytes / 1024 ** 2).toFixed(0)} MB`);

    restoreStarted = true;
    started = performance.now();
    await odooRestore(port, masterPwd, restoredDatabase, backupFile, timeoutMs);
    const restoreSeconds = (performance.now() - started) / 1000;
    progress(`Odoo's restore: ${restoreSeconds.toFixed(1)} s`);

    if (!(await databaseExists(hostDb, restoredDatabase))) {
      throw new Error(`Odoo reported a restore, but there is no database ${restoredDatabase}`);
    }
    const restoredFilestore = `${DATA_DIR}/filestore/${restoredDatabase}`;
    if ((await runOnce(opts, ['test', '-d', restoredFilestore])) !== 0) {
      throw new Error(`Odoo reported a restore, but there is no ${restoredFilestore}`);
    }
    // Odoo's own drop only handles the databases it lists (db_name here): drop the copy ourselves.
    await container.remove({ force: true, v: true }); // v: the image's anonymous volumes; named ones stay
    container = undefined;
    await dropCopy(opts, hostDb, restoredDatabase);
    dropped = true;
    if (await databaseExists(hostDb, restoredDatabase)) throw new Error(`${restoredDatabase} is still there`);
    result = { backupSeconds, backupBytes, restoreSeconds, restoredDatabase };
  } catch (error) {
    const problems = await cleanup();
    if (problems.length) progress(`cleanup after the failure: ${problems.join('; ')}`);
    throw error;
  }
  const problems = await cleanup();
  if (problems.length) throw new Error(`cleanup: ${problems.join('; ')}`);
  return result;
}
