import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3TestServer, startS3Server } from '../../../test/helpers/s3-server.js';
import { openStore, probeStore } from './index.js';
import { closedPort, collect, failureOf, loopback, MiB, randomSource, sha256Of } from './storage-test-support.js';
import type { S3Settings, StoreTarget } from './types.js';

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
