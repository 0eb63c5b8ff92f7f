import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SftpTestServer, startSftpServer } from '../../../test/helpers/sftp-server.js';
import { openStore, probeStore } from './index.js';
import { SftpStore } from './sftp.js';
import {
  closedPort,
  collect,
  failureOf,
  loopback,
  MiB,
  randomSource,
  sftpSkipped,
  sha256Of,
} from './storage-test-support.js';
import type { SftpSecrets, SftpSettings, StoreTarget } from './types.js';

if (sftpSkipped)
  console.warn(`\n*** SKIPPING the SFTP storage tests: ${sftpSkipped}. Run the tests as root to include them. ***\n`);

describe.skipIf(sftpSkipped)('SFTP (sshd, ssh2)', () => {
  let sftp: SftpTestServer;
  const folder = `storage-test-${randomUUID()}`;
  const locked = `${folder}-locked`;
  const notFolder = `${folder}-file`;
  const target = (settings: Partial<SftpSettings> = {}, secrets?: SftpSecrets): StoreTarget => ({
    kind: 'sftp',
    settings: {
      host: sftp.host,
      port: sftp.port,
      username: sftp.username,
      folder,
      // Pinned, as every destination's is from its creation on; tests of the unpinned case say so.
      hostKeyFingerprint: sftp.fingerprint,
      ...settings,
    },
    secrets: secrets ?? { privateKey: sftp.privateKey },
  });
  const onDisk = (...parts: string[]) => join(sftp.home, folder, ...parts);
  const probesOnDisk = async () =>
    existsSync(onDisk()) ? (await readdir(onDisk())).filter((f) => f.startsWith('.marina-probe-')) : [];

  beforeAll(async () => {
    sftp = await startSftpServer();
    // A folder the user may enter but not write: root's, 0755.
    await mkdir(join(sftp.home, locked), { mode: 0o755 });
    await chown(join(sftp.home, locked), 0, 0);
    await chmod(join(sftp.home, locked), 0o755);
    await writeFile(join(sftp.home, notFolder), 'a file, not a folder');
  });
  afterAll(async () => {
    await sftp?.stop();
    if (sftp) {
      await rm(join(sftp.home, folder), { recursive: true, force: true });
      await rm(join(sftp.home, locked), { recursive: true, force: true });
      await rm(join(sftp.home, notFolder), { force: true });
    }
  });

  it.each([
    ['a key', 'key'],
    ['a password', 'password'],
  ] as const)('puts, stats, gets and removes 20 MiB, logged in with %s', async (_label, method) => {
    const size = 20 * MiB + 7;
    const secrets = method === 'key' ? { privateKey: sftp.privateKey } : { password: sftp.password };
    const store = await openStore(target({}, secrets), loopback);
    const key = `${method}/backup.tar.zst`;
    try {
      const source = randomSource(size);
      const progress: number[] = [];
      expect(await store.put(key, source.stream, { onProgress: (b) => progress.push(b) })).toEqual({ bytes: size });
      const digest = source.sha256();
      expect(progress.at(-1)).toBe(size);
      // On the server's disk: the very bytes, under the folder, private to the user, no leftover.
      const file = onDisk(method, 'backup.tar.zst');
      expect(
        createHash('sha256')
          .update(await readFile(file))
          .digest('hex'),
      ).toBe(digest);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readdir(onDisk(method))).toEqual(['backup.tar.zst']);

      expect(await store.stat(key)).toEqual({ size });
      expect(await sha256Of(await store.get(key))).toBe(digest);
      // A second put replaces the first.
      await store.put(key, Readable.from([Buffer.from('replaced')]));
      expect((await collect(await store.get(key))).toString()).toBe('replaced');

      await store.remove(key);
      expect(await store.stat(key)).toBeNull();
      await store.remove(key);
      expect((await failureOf(store.get(key))).reason).toBe('not-found');
    } finally {
      await store.close();
    }
  });

  it('sends nothing to a server whose key is not pinned; the connection test reports the key to pin', async () => {
    const unpinned = await failureOf(openStore(target({ hostKeyFingerprint: null }), loopback));
    expect(unpinned.reason).toBe('host-key-unpinned');
    expect(unpinned.message).toContain(sftp.fingerprint);
    expect(await probesOnDisk()).toEqual([]);
    const first = await probeStore(target({ hostKeyFingerprint: null }), loopback);
    expect(first).toMatchObject({ ok: true, hostKeyFingerprint: sftp.fingerprint });
    const pinned = await openStore(target({ hostKeyFingerprint: sftp.fingerprint }), loopback);
    expect(pinned.hostKeyFingerprint).toBe(sftp.fingerprint);
    await pinned.close();
  });

  it('refuses a host key other than the pinned one, naming both, and writes nothing', async () => {
    const pinned = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const error = await failureOf(openStore(target({ hostKeyFingerprint: pinned }), loopback));
    expect(error.reason).toBe('host-key-changed');
    expect(error.message).toContain(pinned);
    expect(error.message).toContain(sftp.fingerprint);
    const probe = await probeStore(target({ hostKeyFingerprint: pinned }), loopback);
    expect(probe).toMatchObject({
      ok: false,
      error: { reason: 'host-key-changed' },
      hostKeyFingerprint: sftp.fingerprint,
    });
    expect(probe.steps.map((s) => [s.step, s.ok])).toEqual([['connect', false]]);
    expect(await probesOnDisk()).toEqual([]);
  });

  it('refuses a key the server does not know, a wrong password, and a wrong key passphrase', async () => {
    const stranger = ssh2.utils.generateKeyPairSync('ed25519');
    expect((await failureOf(openStore(target({}, { privateKey: stranger.private }), loopback))).reason).toBe('auth');
    const wrongPassword = await failureOf(openStore(target({}, { password: 'not-the-password' }), loopback));
    expect(wrongPassword.reason).toBe('auth');
    expect(wrongPassword.message).not.toContain('not-the-password');

    const locked = ssh2.utils.generateKeyPairSync('ed25519', {
      passphrase: 'key passphrase',
      cipher: 'aes256-ctr',
      rounds: 4,
    });
    await sftp.authorize(locked.public);
    const unlocked = await openStore(
      target({}, { privateKey: locked.private, privateKeyPassphrase: 'key passphrase' }),
      loopback,
    );
    await unlocked.close();
    const wrongPassphrase = await failureOf(
      openStore(target({}, { privateKey: locked.private, privateKeyPassphrase: 'not it' }), loopback),
    );
    expect(wrongPassphrase.reason).toBe('auth');
    expect(wrongPassphrase.message).not.toContain('not it');
  });

  it('reports a folder it may not write, and one that cannot exist', async () => {
    const store = await openStore(target({ folder: locked }), loopback);
    try {
      const flat = await failureOf(store.put('backup', Readable.from([Buffer.from('data')])));
      expect(flat.reason).toBe('permission');
      const nested = await failureOf(store.put('x/backup', Readable.from([Buffer.from('data')])));
      expect(nested.reason).toBe('permission');
      expect(nested.message).toContain(`${locked}/x`);
      expect(await readdir(join(sftp.home, locked))).toEqual([]);
    } finally {
      await store.close();
    }
    // Under a plain file, no folder can ever be made.
    const underFile = await openStore(target({ folder: `${notFolder}/sub` }), loopback);
    try {
      const missing = await failureOf(underFile.put('backup', Readable.from([Buffer.from('data')])));
      expect(missing.reason).toBe('folder-missing');
      expect(missing.message).toContain(`${notFolder}/sub`);
    } finally {
      await underFile.close();
    }
    const probe = await probeStore(target({ folder: locked }), loopback);
    expect(probe).toMatchObject({ ok: false, error: { reason: 'permission' } });
    expect(probe.steps.map((s) => [s.step, s.ok])).toEqual([
      ['connect', true],
      ['write', false],
    ]);
  });

  it('reports a closed port, an unknown host name and a server that never speaks', async () => {
    const port = await closedPort();
    expect((await failureOf(openStore(target({ port }), loopback))).reason).toBe('connect');
    const dns = await failureOf(openStore(target({ host: 'no-such-host.invalid' }), loopback));
    expect(dns.reason).toBe('dns');
    expect(dns.message).toContain('no-such-host.invalid');

    // Accepts connections and never says a word.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port: silentPort } = silent.address() as { port: number };
      const t = target({ port: silentPort }) as Extract<StoreTarget, { kind: 'sftp' }>;
      const store = new SftpStore(t.settings, t.secrets, { readyTimeoutMs: 500 });
      expect((await failureOf(store.connect())).reason).toBe('timeout');
      await store.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('probes: connect, write, read back, delete, with the host key', async () => {
    const result = await probeStore(target(), loopback);
    expect(result).toMatchObject({ ok: true, error: null, hostKeyFingerprint: sftp.fingerprint });
    expect(result.steps.map((s) => [s.step, s.ok])).toEqual([
      ['connect', true],
      ['write', true],
      ['read', true],
      ['delete', true],
    ]);
    expect(await probesOnDisk()).toEqual([]);
  });

  it('leaves no object, not even a partial one, when the source fails mid-upload', async () => {
    const store = await openStore(target(), loopback);
    try {
      let sent = 0;
      const broken = new Readable({
        read() {
          if (sent >= 3 * MiB) return void this.destroy(new Error('the backup file could not be read'));
          sent += 256 * 1024;
          this.push(randomBytes(256 * 1024));
        },
      });
      const error = await failureOf(store.put('broken/backup.tar.zst', broken));
      expect(error.message).toContain('could not be read');
      expect(existsSync(onDisk('broken', 'backup.tar.zst'))).toBe(false);
      expect(await readdir(onDisk('broken'))).toEqual([]);
      expect(await store.stat('broken/backup.tar.zst')).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('rejects promptly when the server dies mid-upload, and uploads again once it is back', async () => {
    const store = await openStore(target(), loopback);
    const partial = onDisk('fault', 'backup.tar.zst.partial');
    // Trickled and endless, so the kill always lands mid-upload.
    const source = randomSource(Number.POSITIVE_INFINITY, { delayMs: 2 });
    const putting = store.put('fault/backup.tar.zst', source.stream);
    putting.catch(() => undefined);
    const deadline = Date.now() + 20_000;
    while (!(existsSync(partial) && statSync(partial).size > 4 * MiB)) {
      if (Date.now() > deadline) throw new Error('the upload never got going');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const killedAt = Date.now();
    await sftp.kill();
    const error = await failureOf(putting);
    // Not by the keepalive (30 s): at once, with room for a loaded machine.
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(error.reason).toBe('connect');
    expect(existsSync(onDisk('fault', 'backup.tar.zst'))).toBe(false);
    expect(source.stream.destroyed).toBe(true);
    await store.close();

    await sftp.restart();
    const again = await openStore(target({ hostKeyFingerprint: sftp.fingerprint }), loopback);
    try {
      const retry = randomSource(6 * MiB);
      await again.put('fault/backup.tar.zst', retry.stream);
      const onServer = await readFile(onDisk('fault', 'backup.tar.zst'));
      expect(createHash('sha256').update(onServer).digest('hex')).toBe(retry.sha256());
      // The new upload wrote over the dead one's partial file, then renamed it.
      expect(await readdir(onDisk('fault'))).toEqual(['backup.tar.zst']);
    } finally {
      await again.close();
    }
  });

  it('refuses the server once its host key is rotated, and reports the new key', async () => {
    const before = sftp.fingerprint;
    await sftp.rotateHostKey();
    expect(sftp.fingerprint).not.toBe(before);
    const error = await failureOf(openStore(target({ hostKeyFingerprint: before }), loopback));
    expect(error.reason).toBe('host-key-changed');
    expect(error.message).toContain(before);
    expect(error.message).toContain(sftp.fingerprint);
    const probe = await probeStore(target({ hostKeyFingerprint: before }), loopback);
    expect(probe).toMatchObject({ ok: false, hostKeyFingerprint: sftp.fingerprint });
    expect(await probesOnDisk()).toEqual([]);
  });
});
