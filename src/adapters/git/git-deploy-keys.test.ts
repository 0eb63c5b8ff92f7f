import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitError, generateDeployKey, hostKeyFingerprints } from './git.js';
import { prepareGitTestHome, root, run } from './git-test-support.js';

prepareGitTestHome();

describe('deploy keys and host keys', () => {
  it('generates an OpenSSH ed25519 key pair ssh-keygen agrees with', async () => {
    const key = await generateDeployKey('marina-deploy-acme-web');
    expect(key.privateKey).toMatch(
      /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/,
    );
    expect(key.publicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=* marina-deploy-acme-web$/);
    const file = join(root, 'deploy-key');
    await writeFile(file, key.privateKey, { mode: 0o600 });
    const { stdout } = await run('ssh-keygen', ['-y', '-f', file]);
    expect(stdout.trim().split(' ').slice(0, 2)).toEqual(key.publicKey.split(' ').slice(0, 2));
    await expect(generateDeployKey('bad\ncomment')).rejects.toThrow(GitError);
  });

  it('prints the fingerprints ssh-keygen prints for known_hosts lines', async () => {
    const lines: string[] = [];
    for (const type of ['ed25519', 'ecdsa', 'rsa']) {
      const file = join(root, `host-${type}`);
      await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
      const [kind, blob] = (await readFile(`${file}.pub`, 'utf8')).trim().split(' ');
      lines.push(`[git.example.com]:2222 ${kind} ${blob}`);
    }
    const knownHosts = `# scanned\n${lines.join('\n')}\n`;
    const file = join(root, 'known_hosts');
    await writeFile(file, knownHosts);
    const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', file]);
    const expected = stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[1]);
    expect(await hostKeyFingerprints(knownHosts)).toEqual(expected);
  });
});
