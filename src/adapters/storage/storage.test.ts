import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3TestServer, startS3Server } from '../../../test/helpers/s3-server.js';
import { type SftpTestServer, sftpServerUnavailable, startSftpServer } from '../../../test/helpers/sftp-server.js';
import { outboundGuard } from '../net/outbound.js';
import { decryptStream, encryptedSize, encryptStream } from './encryption.js';
import { openStore, probeStore } from './index.js';
import { SftpStore } from './sftp.js';
import { type S3Settings, type SftpSecrets, type SftpSettings, StorageError, type StoreTarget } from './types.js';

/**
 * The remote storage layer against real servers: s3rver behind the real AWS SDK, Debian's sshd
 * behind ssh2. No mocks: errors come from the servers (or the network) as they would in production.
 */
const MiB = 1024 * 1024;
const PASSPHRASE = 'correct horse battery staple 93b1';
/** The test servers listen on loopback, which only an allow-listed range lets through. */
const loopback = outboundGuard(async () => ({ allowedRanges: ['127.0.0.0/8'], protectedPorts: [] }));
const DAMAGED = 'the encrypted copy cannot be decrypted: wrong passphrase or damaged data';

const sftpSkipped = sftpServerUnavailable();
if (sftpSkipped)
  console.warn(`\n*** SKIPPING the SFTP storage tests: ${sftpSkipped}. Run the tests as root to include them. ***\n`);

/** Random bytes of a given size (Infinity: until destroyed), optionally trickled, with their sha256. */
function randomSource(size: number, options: { delayMs?: number } = {}) {
  const hash = createHash('sha256');
  let left = size;
  const stream = new Readable({
    highWaterMark: 256 * 1024,
    read() {
      if (left <= 0) return void this.push(null);
      const piece = randomBytes(Math.min(128 * 1024, left));
      left -= piece.length;
      hash.update(piece);
      if (options.delayMs) setTimeout(() => this.push(piece), options.delayMs);
      else this.push(piece);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of stream) hash.update(piece as Buffer);
  return hash.digest('hex');
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const piece of stream) parts.push(piece as Buffer);
  return Buffer.concat(parts);
}

/** A port nothing listens on: taken from the kernel and given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function failureOf(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

describe('encryption', () => {
  async function encrypt(plain: Buffer, passphrase = PASSPHRASE): Promise<Buffer> {
    // Odd piece sizes so chunk boundaries never line up with writes.
    const pieces: Buffer[] = [];
    for (let at = 0; at < plain.length; at += 77_777) pieces.push(plain.subarray(at, at + 77_777));
    return collect(Readable.from(pieces).pipe(encryptStream(passphrase)));
  }

  async function decrypt(sealed: Buffer, passphrase = PASSPHRASE): Promise<Buffer> {
    const parts: Buffer[] = [];
    await pipeline(
      Readable.from([sealed.subarray(0, 1000), sealed.subarray(1000)].filter((b) => b.length > 0)),
      decryptStream(passphrase),
      async (source: AsyncIterable<Buffer>) => {
        for await (const part of source) parts.push(part);
      },
    );
    return Buffer.concat(parts);
  }

  it.each([0, 1, MiB, 2 * MiB + 5, 3.5 * MiB])(
    'round-trips %i bytes, with the size encryptedSize predicts',
    async (size) => {
      const plain = randomBytes(size);
      const sealed = await encrypt(plain);
      expect(sealed.subarray(0, 8).toString('ascii')).toBe('MARINAE1');
      expect(sealed.length).toBe(encryptedSize(size));
      if (size >= 4096) expect(sealed.includes(plain.subarray(0, 4096))).toBe(false);
      expect((await decrypt(sealed)).equals(plain)).toBe(true);
    },
  );

  it('uses a fresh salt and nonce for every file', async () => {
    const plain = Buffer.from('the same backup twice');
    const [a, b] = await Promise.all([encrypt(plain), encrypt(plain)]);
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(8, 31).equals(b.subarray(8, 31))).toBe(false);
  });

  it('refuses a wrong passphrase', async () => {
    const sealed = await encrypt(randomBytes(1000));
    await expect(decrypt(sealed, 'not the passphrase')).rejects.toThrow(DAMAGED);
  });

  describe('refuses damaged data', () => {
    let plain: Buffer;
    let sealed: Buffer;
    const sealedChunk = MiB + 16;
    beforeAll(async () => {
      plain = randomBytes(3.5 * MiB);
      sealed = await encrypt(plain);
    });

    it('without its last chunk', async () => {
      await expect(decrypt(sealed.subarray(0, 31 + 3 * sealedChunk))).rejects.toThrow(DAMAGED);
    });

    it('truncated inside the last chunk', async () => {
      await expect(decrypt(sealed.subarray(0, sealed.length - 1))).rejects.toThrow(DAMAGED);
      await expect(decrypt(sealed.subarray(0, sealed.length - 1000))).rejects.toThrow(DAMAGED);
    });

    it('cut to the header', async () => {
      await expect(decrypt(sealed.subarray(0, 31))).rejects.toThrow(DAMAGED);
      await expect(decrypt(sealed.subarray(0, 20))).rejects.toThrow(DAMAGED);
    });

    it('with one byte flipped, in a chunk or in the header', async () => {
      for (const at of [31 + 5, 31 + sealedChunk + 12_345, sealed.length - 3, 10]) {
        const damaged = Buffer.from(sealed);
        damaged[at] = (damaged[at] as number) ^ 0x01;
        await expect(decrypt(damaged)).rejects.toThrow(DAMAGED);
      }
    });

    it('with chunks swapped, or bytes appended', async () => {
      const swapped = Buffer.concat([
        sealed.subarray(0, 31),
        sealed.subarray(31 + sealedChunk, 31 + 2 * sealedChunk),
        sealed.subarray(31, 31 + sealedChunk),
        sealed.subarray(31 + 2 * sealedChunk),
      ]);
      await expect(decrypt(swapped)).rejects.toThrow(DAMAGED);
      await expect(decrypt(Buffer.concat([sealed, randomBytes(40)]))).rejects.toThrow(DAMAGED);
    });

    it('that is not an encrypted copy at all', async () => {
      await expect(decrypt(Buffer.concat([Buffer.from('MARINAE2'), sealed.subarray(8)]))).rejects.toThrow(
        /cannot be decrypted/,
      );
    });

    it('when the empty final chunk of a whole number of MiB is dropped', async () => {
      const whole = await encrypt(randomBytes(MiB));
      await expect(decrypt(whole.subarray(0, whole.length - 16))).rejects.toThrow(DAMAGED);
    });
  });
});

describe('S3 (s3rver, AWS SDK)', () => {
  let s3: S3TestServer;
  const prefix = `storage-test-${randomUUID()}`;
  const target = (settings: Partial<S3Settings> = {}, secretAccessKey?: string): StoreTarget => ({
    kind: 's3',
    settings: {
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: s3.bucket,
      // Stray slashes must not make `//` in keys.
      prefix: `/${prefix}/`,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      ...settings,
    },
    secrets: { secretAccessKey: secretAccessKey ?? s3.secretAccessKey },
  });

  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('puts a multipart object of unknown length, stats, gets and removes it', async () => {
    const size = 21 * MiB + 123;
    const store = await openStore(target(), loopback);
    try {
      const source = randomSource(size);
      const progress: number[] = [];
      const before = s3.requests.length;
      expect(await store.put('inst/backup.tar.zst', source.stream, { onProgress: (b) => progress.push(b) })).toEqual({
        bytes: size,
      });
      expect(progress.at(-1)).toBe(size);
      // 8 MiB parts: three of them.
      expect(s3.requests.slice(before).filter((r) => /[?&]partNumber=/.test(r))).toHaveLength(3);
      expect(await s3.list(prefix)).toEqual([`${prefix}/inst/backup.tar.zst`]);
      expect(await store.stat('inst/backup.tar.zst')).toEqual({ size });
      expect(await sha256Of(await store.get('inst/backup.tar.zst'))).toBe(source.sha256());

      await store.remove('inst/backup.tar.zst');
      expect(await store.stat('inst/backup.tar.zst')).toBeNull();
      await store.remove('inst/backup.tar.zst');
      const missing = await failureOf(store.get('inst/backup.tar.zst'));
      expect(missing.reason).toBe('not-found');
    } finally {
      await store.close();
    }
  });

  it('stores a small and an empty object in one request each', async () => {
    const store = await openStore(target(), loopback);
    try {
      await store.put('small', Readable.from([Buffer.from('hello')]));
      await store.put('empty', Readable.from([]));
      expect(await store.stat('small')).toEqual({ size: 5 });
      expect(await store.stat('empty')).toEqual({ size: 0 });
      expect((await collect(await store.get('small'))).toString()).toBe('hello');
      await store.remove('small');
      await store.remove('empty');
    } finally {
      await store.close();
    }
  });

  it('names a missing bucket and where it was looked for', async () => {
    const error = await failureOf(openStore(target({ bucket: 'no-such-bucket' }), loopback));
    expect(error.reason).toBe('bucket-missing');
    expect(error.message).toContain('"no-such-bucket"');
    expect(error.message).toContain(s3.endpoint);
  });

  it('tells a wrong secret from an unknown access key, never showing the secret', async () => {
    const secret = 'wrong-secret-8c1f2a9d';
    const wrongSecret = await failureOf(openStore(target({}, secret), loopback));
    expect(wrongSecret.reason).toBe('auth');
    expect(wrongSecret.message).toMatch(/secret key is wrong/);
    expect(wrongSecret.message).not.toContain(secret);
    const unknownKey = await failureOf(openStore(target({ accessKeyId: 'AKIAUNKNOWN' }), loopback));
    expect(unknownKey.reason).toBe('auth');
    expect(unknownKey.message).toMatch(/does not know the access key "AKIAUNKNOWN"/);
  });

  it('reports a port with nothing listening, and a host name that does not resolve', async () => {
    const port = await closedPort();
    expect((await failureOf(openStore(target({ endpoint: `http://127.0.0.1:${port}` }), loopback))).reason).toBe(
      'connect',
    );
    const dns = await failureOf(openStore(target({ endpoint: 'http://no-such-host.invalid:9000' }), loopback));
    expect(dns.reason).toBe('dns');
    expect(dns.message).toContain('no-such-host.invalid');
  });

  it('reports a skewed clock and a key without write permission as the server words them', async () => {
    s3.failWith({ code: 'RequestTimeTooSkewed', status: 403 });
    try {
      const skew = await failureOf(openStore(target(), loopback));
      expect(skew.reason).toBe('clock-skew');
      expect(skew.message).toMatch(/NTP/);
      // A key that may not read still connects (it may be write-only); the write then says why.
      s3.failWith({ code: 'AccessDenied', status: 403 });
      const store = await openStore(target(), loopback);
      const denied = await failureOf(store.put('denied', Readable.from([Buffer.from('x')])));
      expect(denied.reason).toBe('permission');
      await store.close();
    } finally {
      s3.failWith(null);
    }
  });

  it('probes: connect, write, read back, delete, leaving nothing behind', async () => {
    const began = performance.now();
    const result = await probeStore(target(), loopback);
    const elapsed = performance.now() - began;
    expect(result).toMatchObject({ ok: true, error: null, hostKeyFingerprint: null });
    expect(result.steps.map((s) => [s.step, s.ok])).toEqual([
      ['connect', true],
      ['write', true],
      ['read', true],
      ['delete', true],
    ]);
    // Each step is timed in whole milliseconds, and the steps together fit in the call (each rounds by <1 ms).
    for (const step of result.steps)
      expect(Number.isInteger(step.ms) && step.ms >= 0, `${step.step}: ${step.ms}`).toBe(true);
    const total = result.steps.reduce((sum, step) => sum + step.ms, 0);
    expect(total).toBeLessThanOrEqual(Math.ceil(elapsed) + result.steps.length);
    expect((await s3.list(prefix)).filter((k) => k.includes('.marina-probe-'))).toEqual([]);

    const failed = await probeStore(target({}, 'wrong'), loopback);
    expect(failed).toMatchObject({ ok: false, error: { reason: 'auth' } });
    expect(failed.steps).toHaveLength(1);
  });
});

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
