import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './process.js';
import { descendantsOf, fingerprintOf, homeOf, keygen, once, waitForBanner } from './sshd.js';

const run = promisify(execFile);

const SSHD = '/usr/sbin/sshd';
/** A throwaway account shared by every test file; it is never deleted, only reused. */
const USERNAME = 'marina-sftp';
/** Fixed, so test files running at the same time never lock each other out by resetting it. */
const PASSWORD = 'marina-sftp-test-password-4b7e1d';

export interface SftpTestServer {
  host: string;
  port: number;
  username: string;
  /** OpenSSH-format ed25519 private key whose public half is authorized. */
  privateKey: string;
  password: string;
  /** The user's home folder on this machine: relative SFTP paths land here. */
  home: string;
  /** `SHA256:…` of the current host key, as `ssh-keygen -lf` prints it; changes with rotateHostKey(). */
  readonly fingerprint: string;
  /** Lets one more public key (OpenSSH one-line format) log in as the test user. */
  authorize(publicKey: string): Promise<void>;
  /** Kills the listener and every live session at once, as a crash or a pulled cable would. */
  kill(): Promise<void>;
  /** Starts again on the same port with the same host key. */
  restart(): Promise<void>;
  /** A new host key (the server restarts with it), as after a reinstall or an attack. */
  rotateHostKey(): Promise<void>;
  stop(): Promise<void>;
}

/** Why a real sshd cannot run here, or null when it can. */
export function sftpServerUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'the tests do not run as root, and sshd needs root to switch users';
  return null;
}

/**
 * Debian's real sshd on 127.0.0.1, on a free port, with its own host key and config in a temporary
 * folder, letting only the test user in by key or password, with internal-sftp.
 */
export async function startSftpServer(options: { passwordAuthentication?: boolean } = {}): Promise<SftpTestServer> {
  const unavailable = sftpServerUnavailable();
  if (unavailable) throw new Error(`An SFTP test server cannot start: ${unavailable}.`);
  const home = await ensureUser();
  const dir = await mkdtemp(join(tmpdir(), 'marina-sshd-'));
  // sshd reads authorized_keys as the user, who must be able to walk there.
  await chmod(dir, 0o711);
  const hostKey = join(dir, 'host_key');
  const clientKey = join(dir, 'client_key');
  await keygen(hostKey, 'marina-test-host');
  await keygen(clientKey, 'marina-test-client');
  await mkdir(join(dir, 'authorized_keys'), { mode: 0o755 });
  await writeFile(join(dir, 'authorized_keys', USERNAME), await readFile(`${clientKey}.pub`), { mode: 0o644 });
  const privateKey = await readFile(clientKey, 'utf8');
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}/%u`,
      'StrictModes no',
      'UsePAM no',
      `PasswordAuthentication ${options.passwordAuthentication === false ? 'no' : 'yes'}`,
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin no',
      'Subsystem sftp internal-sftp',
      'ForceCommand internal-sftp',
      'AllowTcpForwarding no',
      'X11Forwarding no',
      `AllowUsers ${USERNAME}`,
      'LogLevel ERROR',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // sshd's privilege separation folder; Debian creates it only when its own service starts.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  let fingerprint = await fingerprintOf(hostKey);
  let child: ChildProcess | null = null;

  const start = async () => {
    const spawned = spawn(SSHD, ['-D', '-e', '-f', config], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    child = spawned;
    let stderr = '';
    spawned.stderr?.on('data', (data: Buffer) => {
      stderr = (stderr + data.toString()).slice(-4000);
    });
    const exited = new Promise<never>((_, reject) =>
      spawned.once('exit', (code, signal) =>
        reject(new Error(`sshd exited (${signal ?? code}) before listening: ${stderr.trim()}`)),
      ),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForBanner(port), exited]);
  };

  const kill = async () => {
    const leader = child;
    child = null;
    if (!leader?.pid) return;
    // Each connection's sshd calls setsid(), so the process group holds only the listener: find
    // the sessions by parentage before anything dies and is re-parented.
    const victims = [leader.pid, ...(await descendantsOf(leader.pid))];
    const gone = leader.exitCode === null && leader.signalCode === null ? once(leader, 'exit') : Promise.resolve();
    try {
      process.kill(-leader.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    for (const pid of victims) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await gone;
  };

  // A detached sshd outlives a test process that dies without stop(): take the listener along.
  const orphanGuard = () => {
    try {
      if (child?.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', orphanGuard);

  try {
    await start();
  } catch (error) {
    process.removeListener('exit', orphanGuard);
    await kill();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    host: '127.0.0.1',
    port,
    username: USERNAME,
    privateKey,
    password: PASSWORD,
    home,
    get fingerprint() {
      return fingerprint;
    },
    async authorize(publicKey) {
      await appendFile(join(dir, 'authorized_keys', USERNAME), `${publicKey.trim()}\n`);
    },
    kill,
    restart: start,
    async rotateHostKey() {
      await kill();
      await rm(hostKey, { force: true });
      await rm(`${hostKey}.pub`, { force: true });
      await keygen(hostKey, 'marina-test-host-rotated');
      fingerprint = await fingerprintOf(hostKey);
      await start();
    },
    async stop() {
      process.removeListener('exit', orphanGuard);
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Creates the test user if missing and sets its password; safe when test files race to do it. */
async function ensureUser(): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (!(await homeOf(USERNAME)))
        await run('useradd', ['--create-home', '--shell', '/usr/sbin/nologin', USERNAME]).catch((error: unknown) => {
          // 9: another test file created it in the meantime.
          if ((error as { code?: unknown }).code !== 9) throw error;
        });
      // A fresh account's password is locked ("!"), and sshd then refuses even key logins.
      await new Promise<void>((resolve, reject) => {
        const chpasswd = execFile('chpasswd', [], (error) => (error ? reject(error) : resolve()));
        chpasswd.stdin?.end(`${USERNAME}:${PASSWORD}\n`);
      });
      const home = await homeOf(USERNAME);
      if (!home) throw new Error(`the user ${USERNAME} has no home folder`);
      await mkdir(home, { recursive: true });
      return home;
    } catch (error) {
      // /etc/passwd and /etc/shadow are locked while another test file changes them.
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
}
