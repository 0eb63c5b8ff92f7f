import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { GitError } from './errors.js';
import { bareOf, knownHostsName, type PinnedRemote } from './pinned.js';
import { execute, privateRuntime, SAFE_PATH } from './process.js';

/**
 * ssh-keyscan of a checked address (ed25519, ecdsa, rsa) → known_hosts lines under the host's name;
 * throws GitError('network') when nothing answers. Scanning the address, not the name, leaves DNS
 * no chance to send it elsewhere.
 */
export async function scanHostKeys(target: PinnedRemote, timeoutMs = 15_000): Promise<string> {
  const { port } = target;
  const bare = bareOf(target.host);
  if (typeof bare !== 'string' || bare.startsWith('-') || !/^[A-Za-z0-9.:-]{1,253}$/.test(bare))
    throw new GitError('other', 'The host to scan must be a host name, an IPv4 or an IPv6 address.', '');
  const address = target.address;
  if (typeof address !== 'string' || isIP(address) === 0)
    throw new GitError('other', 'The address to scan must be an IPv4 or an IPv6 address.', '');
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new GitError('other', 'The port to scan must be a number from 1 to 65535.', '');
  const { home } = await privateRuntime();
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const result = await execute(
    'ssh-keyscan',
    ['-T', String(seconds), '-p', String(port), '-t', 'ed25519,ecdsa,rsa', '--', address],
    { cwd: home, env: { PATH: SAFE_PATH, HOME: home, LC_ALL: 'C' }, timeoutMs: timeoutMs + 5_000 },
  );
  const lines = result.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\S+ (?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) [A-Za-z0-9+/]+={0,3}$/.test(l))
    // Named for the host the user gave: the HostKeyAlias ssh checks them under.
    .map((l) => `${knownHostsName(bare, port)} ${l.slice(l.indexOf(' ') + 1)}`)
    .sort();
  const where = port === 22 ? bare : `${bare}:${port}`;
  if (lines.length === 0)
    throw new GitError(
      result.timedOut ? 'timeout' : 'network',
      `No SSH server answered on ${where}: check the host name and port, and that this server can reach it.`,
      result.stderr.slice(-4000),
    );
  return `${lines.join('\n')}\n`;
}

/** `SHA256:…` fingerprints (ssh-keygen -lf format) of known_hosts lines. */
export async function hostKeyFingerprints(knownHosts: string): Promise<string[]> {
  const fingerprints: string[] = [];
  for (const raw of knownHosts.split('\n')) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    // An optional @marker comes first, then the hosts, the key type and the key.
    const offset = fields[0]?.startsWith('@') ? 1 : 0;
    const blob = fields[offset + 2];
    if (!blob || !/^[A-Za-z0-9+/]+={0,3}$/.test(blob)) continue;
    const digest = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '');
    fingerprints.push(`SHA256:${digest}`);
  }
  return fingerprints;
}

/** A fresh ed25519 deploy key in OpenSSH format. */
export async function generateDeployKey(comment: string): Promise<{ privateKey: string; publicKey: string }> {
  if (typeof comment !== 'string' || !/^[\x20-\x7e]{0,100}$/.test(comment))
    throw new GitError('other', 'A deploy key comment is printable text of at most 100 characters.', '');
  // ssh2 is loaded on first use (memory): only adding a repository needs it here.
  const { default: ssh2 } = await import('ssh2');
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
  return {
    privateKey: pair.private.endsWith('\n') ? pair.private : `${pair.private}\n`,
    publicKey: pair.public.trim(),
  };
}
