import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { access, appendFile, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './process.js';
import { descendantsOf, fingerprintOf, homeOf, keygen, once, waitForBanner } from './sshd.js';

const run = promisify(execFile);

const SSHD = '/usr/sbin/sshd';
const GIT_SHELL = '/usr/bin/git-shell';
/** A throwaway account for git over ssh, never deleted, only reused; its shell is git-shell. */
const USERNAME = 'marina-git';

export interface GitSshTestServer {
  host: string;
  port: number;
  username: string;
  /** A folder in the user's home where the test puts its bare repositories; served as is. */
  repos: string;
  /** `SHA256:…` of the host key, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** `ssh://marina-git@127.0.0.1:<port>/<absolute path>` of a bare repository in `repos`. */
  url(barePath: string): string;
  /** Lets a public key (OpenSSH one-line format) log in. */
  authorize(publicKey: string): Promise<void>;
  /** Gives everything under `repos` to the git user again, after the test changed it as root. */
  chown(): Promise<void>;
  stop(): Promise<void>;
}

/** Why a real sshd cannot run here, or null when it can. */
export function gitSshServerUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'the tests do not run as root, and sshd needs root to switch users';
  return null;
}

/**
 * Debian's real sshd on 127.0.0.1 and a free port, with its own host key and config in a temporary
 * folder, letting only the git user in, by key; the user's login shell is git-shell, so only
 * git-upload-pack and git-receive-pack run, as on a real git server.
 */
export async function startGitSshServer(): Promise<GitSshTestServer> {
  const unavailable = gitSshServerUnavailable();
  if (unavailable) throw new Error(`A git SSH test server cannot start: ${unavailable}.`);
  await access(SSHD);
  await access(GIT_SHELL);
  const home = await ensureUser();
  const dir = await mkdtemp(join(tmpdir(), 'marina-git-sshd-'));
  // sshd reads authorized_keys as the user, who must be able to walk there.
  await chmod(dir, 0o711);
  const repos = await mkdtemp(join(home, 'repos-'));
  await run('chown', [`${USERNAME}:`, repos]);
  const hostKey = join(dir, 'host_key');
  await keygen(hostKey, 'marina-git-test-host');
  const fingerprint = await fingerprintOf(hostKey);
  const keys = join(dir, 'authorized_keys');
  await mkdir(keys, { mode: 0o755 });
  await writeFile(join(keys, USERNAME), '', { mode: 0o644 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${keys}/%u`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin no',
      'DisableForwarding yes',
      'PermitUserEnvironment no',
      // Git's protocol v2, as real git servers accept it.
      'AcceptEnv GIT_PROTOCOL',
      `AllowUsers ${USERNAME}`,
      'LogLevel ERROR',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // sshd's privilege separation folder; Debian creates it only when its own service starts.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const child = spawn(SSHD, ['-D', '-e', '-f', config], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000);
  });
  // A detached sshd outlives a test process that dies without stop(): take the listener along.
  const orphanGuard = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', orphanGuard);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`sshd exited (${signal ?? code}) before listening: ${stderr.trim()}`)),
    ),
  );
  exited.catch(() => undefined);
  const stop = async () => {
    process.removeListener('exit', orphanGuard);
    const gone = child.exitCode === null && child.signalCode === null ? once(child, 'exit') : Promise.resolve();
    await killTree(child);
    await gone;
    await rm(dir, { recursive: true, force: true });
    await rm(repos, { recursive: true, force: true });
  };
  try {
    await Promise.race([waitForBanner(port), exited]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host: '127.0.0.1',
    port,
    username: USERNAME,
    repos,
    fingerprint,
    url: (barePath) => `ssh://${USERNAME}@127.0.0.1:${port}${barePath}`,
    async authorize(publicKey) {
      await appendFile(join(keys, USERNAME), `${publicKey.trim()}\n`);
    },
    async chown() {
      await run('chown', ['-R', `${USERNAME}:`, repos]);
    },
    stop,
  };
}

/** The listener and every session it forked (each calls setsid, so the group alone misses them). */
async function killTree(child: ChildProcess): Promise<void> {
  if (!child.pid) return;
  const victims = [child.pid, ...(await descendantsOf(child.pid))];
  for (const pid of [-child.pid, ...victims]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Creates the git user if missing, with git-shell as its shell and an unlocked account. */
async function ensureUser(): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (!(await homeOf(USERNAME)))
        await run('useradd', ['--create-home', '--shell', GIT_SHELL, USERNAME]).catch((error: unknown) => {
          // 9: another test file created it in the meantime.
          if ((error as { code?: unknown }).code !== 9) throw error;
        });
      // A fresh account's password is locked ("!") and sshd then refuses even key logins; "*"
      // allows no password either, but is not "locked".
      await run('usermod', ['--shell', GIT_SHELL, '--password', '*', USERNAME]);
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
