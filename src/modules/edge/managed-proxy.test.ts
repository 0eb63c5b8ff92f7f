import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import pino from 'pino';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRuntime } from '../../runtime/memory.js';
import { LABEL_KIND, LABEL_NAMESPACE } from '../../runtime/port.js';
import { LABEL_PROXY_SPEC, ManagedProxy, type ManagedProxyDeps, PROXY_FILES } from './managed-proxy.js';

/**
 * The managed proxy's container on the in-memory stand-in runtime (which passes the same runtime
 * contract as Docker); test/edge-managed-proxy.test.ts runs the real one with Caddy and Pebble.
 */

const IMAGE = 'marina-test/caddy';
let dir: string;
let files: { roots: string; cert: string; key: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'marina-managed-proxy-'));
  files = { roots: join(dir, 'roots.pem'), cert: join(dir, 'w.pem'), key: join(dir, 'w.key') };
  for (const path of Object.values(files)) await writeFile(path, 'PEM\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Writes one file into a volume, or reads it back (undefined when absent), through a data carrier. */
async function volumeFile(runtime: MemoryRuntime, volume: string, content?: string): Promise<string | undefined> {
  const carrier = {
    name: 'mtproxy-carrier',
    image: IMAGE,
    command: ['true'],
    labels: {},
    mounts: [{ type: 'volume' as const, source: volume, target: '/v' }],
    privileges: 'files' as const,
  };
  return runtime.withData(carrier, async (data) => {
    if (content !== undefined) {
      const pack = tarStream.pack();
      pack.entry({ name: 'caddy/file.json', mode: 0o644 }, content);
      pack.finalize();
      await data.write('/v', pack as unknown as Readable);
      return content;
    }
    const tar = await data.read('/v/caddy/file.json');
    if (!tar) return undefined;
    let text = '';
    const extract = tarStream.extract();
    extract.on('entry', (_header, stream, next) => {
      stream.on('data', (chunk: unknown) => {
        text += (chunk as Buffer).toString('utf8');
      });
      stream.on('end', next);
    });
    await new Promise<void>((resolve, reject) => {
      extract.on('finish', () => resolve());
      extract.on('error', reject);
      tar.pipe(extract);
    });
    return text;
  });
}

function proxyOn(runtime: MemoryRuntime, overrides: Partial<ManagedProxyDeps> = {}) {
  let asked = 0;
  const proxy = new ManagedProxy({
    runtime: async () => runtime,
    namespace: 'mtproxy',
    hostId: 'local',
    edge: { acme: { ca: undefined, email: undefined, caRootsFile: undefined }, wildcard: undefined },
    managed: { image: IMAGE, adminPort: 2999 },
    answers: async () => {
      asked += 1;
    },
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
  return { proxy, asked: () => asked };
}

describe('the managed proxy container', () => {
  it('is made once, running caddy with --resume on its bootstrap, its volumes and labels', async () => {
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const { proxy, asked } = proxyOn(runtime);

    expect(await Promise.all([proxy.ensure(), proxy.ensure()])).toEqual(['created', 'created']);

    const state = await runtime.state('mtproxy-proxy-local');
    expect(state?.running).toBe(true);
    expect(state?.labels).toMatchObject({ [LABEL_NAMESPACE]: 'mtproxy', [LABEL_KIND]: 'proxy' });
    expect((await runtime.list('mtproxy', 'proxy')).length).toBe(1);
    const details = await runtime.describe('mtproxy-proxy-local');
    expect(details?.mounts).toEqual([
      { type: 'volume', source: 'mtproxy-proxy-local-data', target: '/data' },
      { type: 'volume', source: 'mtproxy-proxy-local-config', target: '/config' },
    ]);
    expect(await runtime.volumeExists('mtproxy-proxy-local-data')).toBe(true);
    expect(proxy.spec().command).toEqual(['caddy', 'run', '--resume', '--config', '/etc/caddy/marina-bootstrap.json']);
    expect(JSON.parse(await runtime.readFile('mtproxy-proxy-local', '/etc/caddy/marina-bootstrap.json'))).toEqual({
      admin: { listen: '127.0.0.1:2999' },
    });
    // It waited for the admin API once, for the one creation.
    expect(asked()).toBe(1);
  });

  it('keeps a running container, starts a stopped one, makes a removed one again', async () => {
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const { proxy } = proxyOn(runtime);
    await proxy.ensure();
    const first = (await runtime.state(proxy.name))?.id;

    expect(await proxy.ensure()).toBe('running');
    expect((await runtime.state(proxy.name))?.id).toBe(first);

    await runtime.stop(proxy.name);
    expect(await proxy.ensure()).toBe('started');
    expect(await runtime.state(proxy.name)).toMatchObject({ id: first, running: true });

    await runtime.remove(proxy.name);
    expect(await proxy.ensure()).toBe('created');
    const again = await runtime.state(proxy.name);
    expect(again?.running).toBe(true);
    expect(again?.id).not.toBe(first);
  });

  it("mounts the operator's files read-only at fixed paths, and tells Caddy those paths", async () => {
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const edge = {
      acme: { ca: 'https://acme.test/dir', email: undefined, caRootsFile: files.roots },
      wildcard: { certFile: files.cert, keyFile: files.key },
    };
    const { proxy } = proxyOn(runtime, { edge });
    await proxy.ensure();

    expect(proxy.spec().mounts).toEqual(
      expect.arrayContaining([
        { type: 'bind', source: files.roots, target: PROXY_FILES.acmeCaRoots, readOnly: true },
        { type: 'bind', source: files.cert, target: PROXY_FILES.wildcardCert, readOnly: true },
        { type: 'bind', source: files.key, target: PROXY_FILES.wildcardKey, readOnly: true },
      ]),
    );
    expect((await runtime.describe(proxy.name))?.mounts).toContainEqual({
      type: 'bind',
      source: files.key,
      target: PROXY_FILES.wildcardKey,
    });
    expect(proxy.inside(edge)).toEqual({
      acme: { ca: 'https://acme.test/dir', email: undefined, caRootsFile: PROXY_FILES.acmeCaRoots },
      wildcard: { certFile: PROXY_FILES.wildcardCert, keyFile: PROXY_FILES.wildcardKey },
    });
    const none = { acme: { ca: undefined, email: undefined, caRootsFile: undefined }, wildcard: undefined };
    expect(proxy.inside(none)).toEqual(none);
  });

  it('is made again with new settings, dropping the autosaved configuration and keeping the certificates', async () => {
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const old = proxyOn(runtime).proxy;
    await old.ensure();
    const before = await runtime.state(old.name);
    await volumeFile(runtime, old.configVolume, '{"admin":{"listen":"127.0.0.1:2999"}}');
    await volumeFile(runtime, old.dataVolume, 'a certificate');

    const moved = proxyOn(runtime, { managed: { image: IMAGE, adminPort: 3019 } }).proxy;
    expect(await moved.ensure()).toBe('created');

    const after = await runtime.state(moved.name);
    expect(after?.id).not.toBe(before?.id);
    expect(after?.labels[LABEL_PROXY_SPEC]).not.toBe(before?.labels[LABEL_PROXY_SPEC]);
    expect(JSON.parse(await runtime.readFile(moved.name, '/etc/caddy/marina-bootstrap.json')).admin.listen).toBe(
      '127.0.0.1:3019',
    );
    expect(await volumeFile(runtime, moved.configVolume)).toBeUndefined();
    expect(await volumeFile(runtime, moved.dataVolume)).toBe('a certificate');
    // The same settings again: nothing changes.
    expect(await proxyOn(runtime, { managed: { image: IMAGE, adminPort: 3019 } }).proxy.ensure()).toBe('running');
  });

  it('says what is missing: the image, an operator file, an admin API that never answers', async () => {
    const noImage = proxyOn(new MemoryRuntime({ images: [] })).proxy;
    await expect(noImage.ensure()).rejects.toMatchObject({
      code: 'MARINA_E_IMAGE_MISSING',
      message: expect.stringContaining('MARINA_CADDY_IMAGE'),
    });

    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const edge = {
      acme: { ca: undefined, email: undefined, caRootsFile: join(dir, 'absent.pem') },
      wildcard: undefined,
    };
    await expect(proxyOn(runtime, { edge }).proxy.ensure()).rejects.toThrow(/absent\.pem .* is not a file/);
    expect(await runtime.state('mtproxy-proxy-local')).toBeUndefined();

    const silent = proxyOn(runtime, {
      answers: () => Promise.reject(new Error('connection refused')),
      readyTimeoutMs: 300,
    }).proxy;
    await expect(silent.ensure()).rejects.toThrow(/admin API does not answer: connection refused/);
  });
});
