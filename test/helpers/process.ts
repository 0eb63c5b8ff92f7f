import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..', '..');
export const marinaBin = join(root, 'bin', 'marina.js');

export function requireBuild(): void {
  if (!existsSync(join(root, 'dist', 'server', 'cli', 'index.js'))) {
    throw new Error('dist/server is missing: run `npm run build` first (npm test does it in pretest).');
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `marina ARGS` with the same Node that runs the tests, as a user would in a terminal. */
export function marina(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [marinaBin, ...args],
      { env, cwd: root, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

export interface Server {
  child: ChildProcess;
  output(): string;
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The V8 flags `npm start` and deploy/marina.service run Marina with, so tests see the same collector. */
const serveFlags = ['--max-semi-space-size=2', '--heap-growing-percent=30', '--expose-gc'];

export function startServer(env: NodeJS.ProcessEnv): Server {
  const child = spawn(process.execPath, [...serveFlags, marinaBin, 'serve'], {
    env,
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  return {
    child,
    exited,
    output: () => output,
    waitFor: (text, timeoutMs = 60_000) =>
      new Promise((resolveWait, reject) => {
        if (child.exitCode !== null) {
          reject(new Error(`the server has exited (code ${child.exitCode}):\n${output.slice(-3000)}`));
          return;
        }
        const check = () => {
          const match =
            typeof text === 'string' ? (output.includes(text) ? text : null) : (text.exec(output)?.[0] ?? null);
          if (match !== null) {
            cleanup();
            resolveWait(match);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${text} in:\n${output.slice(-3000)}`));
        }, timeoutMs);
        // A server that exits will never print it: say so at once, with what it printed.
        child.once('exit', (code) => {
          cleanup();
          reject(new Error(`the server exited (code ${code}) before printing ${text}:\n${output.slice(-3000)}`));
        });
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
  };
}

/**
 * Ports handed to servers a test starts later (Caddy, Pebble, Marina). Not from the kernel's
 * ephemeral range: a port from `listen(0)` is free again the moment the probe closes, and any
 * `listen(0)` or outgoing connection of a parallel test file could take it before our server binds
 * it (CI saw Caddy fail with "address already in use"). Below that range, only these picks compete,
 * and a file per port under the temp folder, made exclusively, keeps two test processes from
 * picking the same one; it is released when the process exits, or taken over once its owner is gone.
 */
// Below 20000: an in-process app keeps the default instance ports 20000-20999, which Marina refuses to connect to.
const RESERVED_PORTS = { from: 10_000, to: 19_999 };
const reservationDir = join(tmpdir(), 'marina-test-ports');
const reservedHere: string[] = [];

function ownerAlive(file: string): boolean {
  try {
    const pid = Number(readFileSync(file, 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function reserve(port: number): boolean {
  const file = join(reservationDir, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || ownerAlive(file)) return false;
    // A reservation left by a test process that died: take it over, unless another one just did.
    try {
      renameSync(file, `${file}.stale-${process.pid}`);
      rmSync(`${file}.stale-${process.pid}`, { force: true });
      writeFileSync(file, String(process.pid), { flag: 'wx' });
    } catch {
      return false;
    }
  }
  if (reservedHere.length === 0) {
    process.once('exit', () => {
      for (const path of reservedHere) rmSync(path, { force: true });
    });
  }
  reservedHere.push(file);
  return true;
}

/** Whether a TCP server could listen on the loopback port now. */
export function loopbackPortFree(port: number): Promise<boolean> {
  return new Promise((resolveBindable) => {
    const probe = createServer();
    probe.once('error', () => resolveBindable(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolveBindable(true)));
  });
}

/** A loopback port reserved for this test process and free now (see RESERVED_PORTS). */
export async function freePort(check: (port: number) => Promise<boolean> = loopbackPortFree): Promise<number> {
  mkdirSync(reservationDir, { recursive: true });
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = RESERVED_PORTS.from + randomInt(RESERVED_PORTS.to - RESERVED_PORTS.from + 1);
    if (!reserve(port)) continue;
    if (await check(port)) return port;
  }
  throw new Error(`no free port left in ${RESERVED_PORTS.from}-${RESERVED_PORTS.to} for this test process`);
}

/**
 * The environment of a real `marina` process of its own: a fresh home and data folder, random
 * ports, the test images and the Odoo stand-in for 17.0, in Docker namespace `namespace`.
 */
export async function cliMarinaEnv(
  namespace: string,
  prefix: string,
): Promise<{ dir: string; url: string; env: NodeJS.ProcessEnv }> {
  const { chmod, mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { randomPortRange, TEST_IMAGES } = await import('./docker.js');
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o711);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    MARINA_DATA_DIR: join(dir, 'data'),
    MARINA_HOST: '127.0.0.1',
    MARINA_PORT: String(port),
    MARINA_PUBLIC_URL: url,
    MARINA_EMBEDDED_PG_PORT: String(await freePort()),
    MARINA_LOG_FORMAT: 'json',
    MARINA_NAMESPACE: namespace,
    MARINA_POSTGRES_IMAGE: TEST_IMAGES.postgres,
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    MARINA_INSTANCE_BIND: '127.0.0.1',
    MARINA_INSTANCE_PORTS: randomPortRange(),
  };
  return { dir, url, env };
}

/** Through the CLI, as an operator would: the first admin, a login, organization acme and project acme/erp. */
export async function setUpAcmeWithCli(env: NodeJS.ProcessEnv, url: string, password: string): Promise<void> {
  // The password goes in on standard input: the CLI takes no secret as an argument.
  for (const [args, input] of [
    [['admin', 'create', '--email', 'admin@example.com', '--password-stdin'], `${password}\n`],
    [['login', '--url', url, '--email', 'admin@example.com', '--password-stdin'], `${password}\n`],
    [['orgs', 'create', 'acme', '--name', 'ACME'], undefined],
    [['projects', 'create', 'erp', '--org', 'acme', '--odoo', '17.0'], undefined],
  ] as const) {
    const result = await marina([...args], env, input);
    if (result.code !== 0) throw new Error(`marina ${args[0]} failed (${result.code}): ${result.stderr}`);
  }
}
