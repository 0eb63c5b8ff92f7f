/**
 * The contract every runtime passes: the Docker runtime against a real engine, and the in-memory
 * stand-in (memory.ts) that fast tests use in its place, so that the stand-in cannot drift.
 * Register it from a test file: `runtimeContract('docker', async () => ({ … }))`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Writable } from 'node:stream';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type InstanceSpec,
  LABEL_ID,
  LABEL_KIND,
  LABEL_MANAGED,
  LABEL_NAMESPACE,
  type OneOffSpec,
  type Runtime,
  type RuntimeEvent,
} from './port.js';

export interface ContractSubject {
  runtime: Runtime;
  /** A namespace of this test's own: every object made carries it, and cleanup removes them. */
  namespace: string;
  /** An image with the official odoo image's layout (/etc/odoo, user 101), with cat and echo. */
  instanceImage: string;
  /** The tools image (PostgreSQL's): cat, echo, true, and a server when run as `postgres`. */
  toolsImage: string;
  /** A command that prints each line, then runs until stopped (and stops at once when asked). */
  serve(lines: string[]): string[];
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;

async function tarOf(entries: { name: string; content?: string; type?: 'directory' | 'link'; linkname?: string }[]) {
  const pack = tarStream.pack();
  for (const e of entries) {
    if (e.type) pack.entry({ name: e.name, type: e.type, linkname: e.linkname, mode: 0o755 });
    else pack.entry({ name: e.name, mode: 0o644 }, e.content ?? '');
  }
  pack.finalize();
  return pack as unknown as Readable;
}

async function filesOf(tar: Readable): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const extract = tarStream.extract();
  await new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') files[header.name] = Buffer.concat(chunks).toString('utf8');
        if (header.type === 'link') files[header.name] = `link to ${header.linkname}`;
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    tar.pipe(extract);
  });
  return files;
}

export function runtimeContract(name: string, make: () => Promise<ContractSubject>): void {
  describe(`runtime contract: ${name}`, () => {
    let s: ContractSubject;
    let rt: Runtime;
    const labels = (kind: string, id = 'contract') => ({
      [LABEL_MANAGED]: 'true',
      [LABEL_NAMESPACE]: s.namespace,
      [LABEL_KIND]: kind,
      [LABEL_ID]: id,
    });
    const network = () => `${s.namespace}-net`;
    const instance = (suffix: string, overrides: Partial<InstanceSpec> = {}): InstanceSpec => ({
      name: `${s.namespace}-odoo-${suffix}`,
      image: s.instanceImage,
      command: s.serve(['first line', 'second line']),
      env: { MARINA_CONTRACT: '1' },
      labels: labels('odoo', suffix),
      network: network(),
      mounts: [{ type: 'volume', source: `${s.namespace}-data-${suffix}`, target: '/var/lib/odoo' }],
      config: { dir: '/etc/odoo', name: 'odoo.conf', content: '[options]\n', uid: 101, gid: 101, mode: 0o600 },
      limits: { memoryBytes: 256 * MiB, nanoCpus: 5e8, pids: 256 },
      http: { port: 8069, hostIp: '127.0.0.1', hostPort: 30000 + Math.floor(Math.random() * 9000) },
      healthcheck: {
        test: ['CMD', 'true'],
        intervalSeconds: 30,
        timeoutSeconds: 5,
        retries: 3,
        startPeriodSeconds: 30,
      },
      ...overrides,
    });
    const tool = (suffix: string, command: string[], overrides: Partial<OneOffSpec> = {}): OneOffSpec => {
      const [entrypoint = 'false', ...args] = command;
      return {
        name: `${s.namespace}-tool-${suffix}`,
        image: s.toolsImage,
        entrypoint: [entrypoint],
        command: args,
        labels: labels('backup-tool'),
        privileges: 'files',
        ...overrides,
      };
    };

    beforeAll(async () => {
      s = await make();
      rt = s.runtime;
      await rt.ensureNetwork(network(), labels('network'));
    });
    afterAll(async () => {
      await s?.cleanup();
    });

    it('knows which images it has', async () => {
      expect(await rt.hasImage(s.instanceImage)).toBe(true);
      expect(await rt.hasImage('marina-test/absent:never')).toBe(false);
      expect(await rt.imageId(s.instanceImage)).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await rt.imageId('marina-test/absent:never')).toBeUndefined();
      expect((await rt.info()).cpus).toBeGreaterThan(0);
      await rt.ping();
    });

    it('creates, starts, stops and removes an instance, and says so through its events', async () => {
      const events: RuntimeEvent[] = [];
      const following = new AbortController();
      const followed = rt.events(s.namespace, (e) => events.push(e), following.signal);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const spec = instance('life');
      expect(await rt.state(spec.name)).toBeUndefined();
      const id = await rt.createInstance(spec);
      const created = await rt.state(spec.name);
      expect(created).toMatchObject({ id, name: spec.name, running: false });
      expect(created?.labels).toMatchObject(spec.labels);
      expect(await rt.readFile(spec.name, '/etc/odoo/odoo.conf')).toBe('[options]\n');
      expect((await rt.list(s.namespace, 'odoo')).map((w) => w.name)).toContain(spec.name);
      const details = await rt.describe(spec.name);
      expect(details).toMatchObject({ id, running: false, memoryBytes: 256 * MiB, nanoCpus: 5e8 });
      expect(details?.publishedPorts[8069]).toBe(spec.http?.hostPort);
      expect(details?.mounts).toContainEqual({
        type: 'volume',
        source: `${s.namespace}-data-life`,
        target: '/var/lib/odoo',
      });

      await rt.start(spec.name);
      const running = await rt.state(spec.name);
      expect(running?.running).toBe(true);
      expect(running?.startedAt?.getTime()).toBeGreaterThan(Date.now() - 60_000);
      await rt.start(spec.name);
      expect(await rt.exec(spec.name, ['echo', 'inside'])).toEqual({ exitCode: 0, output: 'inside\n' });
      expect((await rt.stats(spec.name)).memoryLimitBytes).toBe(256 * MiB);
      const sample = await rt.sample(spec.name);
      expect(sample).toMatchObject({ running: true, memoryLimitBytes: 256 * MiB, restarts: 0 });
      expect(sample?.cpuSecondsTotal).toBeGreaterThanOrEqual(0);

      await rt.stop(spec.name);
      expect((await rt.state(spec.name))?.running).toBe(false);
      expect(await rt.sample(spec.name)).toMatchObject({ running: false, memoryBytes: null });
      await rt.stop(spec.name);
      await rt.remove(spec.name);
      await rt.remove(spec.name);
      expect(await rt.state(spec.name)).toBeUndefined();
      expect(await rt.describe(spec.name)).toBeUndefined();
      expect(await rt.sample(spec.name)).toBeUndefined();

      await vi.waitFor(() => expect(events.some((e) => e.id === id && e.action === 'destroy')).toBe(true), {
        timeout: 10_000,
      });
      const actions = events.filter((e) => e.id === id).map((e) => e.action);
      expect(actions.indexOf('start')).toBeGreaterThanOrEqual(0);
      expect(actions.indexOf('die')).toBeGreaterThan(actions.indexOf('start'));
      expect(actions.indexOf('destroy')).toBeGreaterThan(actions.indexOf('die'));
      expect(events.find((e) => e.action === 'start')?.labels[LABEL_ID]).toBe('life');
      following.abort();
      await followed;
    });

    it('keeps an instance that runs what its spec says, and makes it again when the spec changes', async () => {
      const spec = instance('keep');
      const first = await rt.createInstance(spec);
      expect(await rt.ensureInstance(spec)).toEqual({ id: first, created: false });
      const changed = await rt.ensureInstance({ ...spec, limits: { ...spec.limits, memoryBytes: 300 * MiB } });
      expect(changed.created).toBe(true);
      expect(changed.id).not.toBe(first);
      expect((await rt.state(spec.name))?.id).toBe(changed.id);
      expect((await rt.describe(spec.name))?.memoryBytes).toBe(300 * MiB);
      await rt.remove(spec.name);
    });

    it("gives an instance's output as log lines, the last ones or followed", async () => {
      const spec = instance('log');
      await rt.createInstance(spec);
      await rt.start(spec.name);
      const read = async (query: { tail?: number }) => {
        const lines = [];
        for await (const line of rt.logs(spec.name, { follow: false, ...query }, new AbortController().signal))
          lines.push(line);
        return lines;
      };
      await vi.waitFor(async () => expect((await read({})).map((l) => l.text)).toEqual(['first line', 'second line']), {
        timeout: 15_000,
      });
      const lines = await read({});
      expect(
        lines.every((l) => l.stream === 'stdout' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(l.timestamp)),
      ).toBe(true);
      expect((lines[0]?.timestamp ?? '') <= (lines[1]?.timestamp ?? '')).toBe(true);
      expect((await read({ tail: 1 })).map((l) => l.text)).toEqual(['second line']);
      const followed: string[] = [];
      const stop = new AbortController();
      for await (const line of rt.logs(spec.name, { follow: true, tail: 1 }, stop.signal)) {
        followed.push(line.text);
        stop.abort();
      }
      expect(followed).toEqual(['second line']);
      await rt.remove(spec.name);
    });

    it('runs a one-off to its end, with its output, and leaves nothing behind', async () => {
      const pieces: string[] = [];
      const ok = await rt.run(tool('echo', ['echo', 'hello']), { onOutput: (text) => pieces.push(text) });
      expect(ok).toEqual({ exitCode: 0, output: 'hello\n' });
      expect(pieces.join('')).toBe('hello\n');
      expect(await rt.state(`${s.namespace}-tool-echo`)).toBeUndefined();
      const failed = await rt.run(tool('echo', ['cat', '/nonexistent']));
      expect(failed.exitCode).not.toBe(0);
      expect(failed.output).toContain('/nonexistent');
    });

    it('writes the config file of a one-off before it starts', async () => {
      const result = await rt.run({
        name: `${s.namespace}-odoo-oneoff`,
        image: s.instanceImage,
        command: ['cat', '/etc/odoo/odoo.conf'],
        labels: labels('odoo-oneoff'),
        config: { dir: '/etc/odoo', name: 'odoo.conf', content: 'db_name = x\n', uid: 101, gid: 101, mode: 0o600 },
        limits: { memoryBytes: 128 * MiB },
        privileges: 'none',
      });
      expect(result).toEqual({ exitCode: 0, output: 'db_name = x\n' });
    });

    it('streams the standard output of a one-off into a writable', async () => {
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk);
          done();
        },
      });
      const result = await rt.runStreaming(tool('dump', ['echo', 'data']), sink);
      expect(result.exitCode).toBe(0);
      expect(Buffer.concat(chunks).toString('utf8')).toBe('data\n');
    });

    it("reads and writes a volume's files as tar streams, hard links included", async () => {
      const volume = `${s.namespace}-data-files`;
      await rt.ensureVolume(volume, labels('odoo'));
      await rt.ensureVolume(volume, labels('odoo'));
      const mounts = [{ type: 'volume' as const, source: volume, target: '/data' }];
      await rt.withData(tool('carrier', ['true'], { mounts }), async (data) => {
        await data.write(
          '/data',
          await tarOf([
            { name: 'a/', type: 'directory' },
            { name: 'a/b.txt', content: 'hi' },
            { name: 'a/c.txt', type: 'link', linkname: 'a/b.txt' },
          ]),
        );
        const read = await data.read('/data/a');
        expect(read).toBeDefined();
        expect(await filesOf(read as Readable)).toEqual({ 'a/b.txt': 'hi', 'a/c.txt': 'link to a/b.txt' });
        expect(await data.read('/data/missing')).toBeUndefined();
      });
      expect(await rt.state(`${s.namespace}-tool-carrier`)).toBeUndefined();
      const seen = await rt.run(tool('cat', ['cat', '/data/a/c.txt'], { mounts }));
      expect(seen).toEqual({ exitCode: 0, output: 'hi' });
      const readOnly = [{ ...mounts[0], readOnly: true } as (typeof mounts)[0]];
      await rt.withData(tool('carrier', ['true'], { mounts: readOnly }), async (data) => {
        await expect(data.write('/data', await tarOf([{ name: 'x.txt', content: 'no' }]))).rejects.toThrow();
      });
    });

    it('makes, lists and removes volumes', async () => {
      const volume = `${s.namespace}-data-list`;
      expect(await rt.volumeExists(volume)).toBe(false);
      await rt.ensureVolume(volume, labels('odoo', 'listed'));
      expect(await rt.volumeExists(volume)).toBe(true);
      const listed = await rt.listVolumes(s.namespace, 'odoo');
      expect(listed.find((v) => v.name === volume)?.labels[LABEL_ID]).toBe('listed');
      await rt.removeVolume(volume);
      await rt.removeVolume(volume);
      expect(await rt.volumeExists(volume)).toBe(false);
    });

    it('publishes no port of an instance without one, and tells its address on its network while it runs', async () => {
      const spec = instance('unpublished', { http: undefined });
      await rt.createInstance(spec);
      expect((await rt.describe(spec.name))?.publishedPorts).toEqual({});
      expect(await rt.address(spec.name, network())).toBeUndefined();
      await rt.start(spec.name);
      const address = await rt.address(spec.name, network());
      expect(address).toMatch(/^\d{1,3}(\.\d{1,3}){3}$/);
      expect(await rt.address(spec.name, `${s.namespace}-elsewhere`)).toBeUndefined();
      await rt.stop(spec.name);
      expect(await rt.address(spec.name, network())).toBeUndefined();
      await rt.remove(spec.name);
      expect(await rt.address(spec.name, network())).toBeUndefined();
    });

    it('makes networks, attaches workloads once, and removes them', async () => {
      const name = `${s.namespace}-org-test`;
      await rt.ensureNetwork(name, labels('organization-network'));
      await rt.ensureNetwork(name, labels('organization-network'));
      expect(await rt.listNetworks(s.namespace, 'organization-network')).toEqual([name]);
      const spec = instance('net');
      await rt.createInstance(spec);
      await rt.connectNetwork(name, spec.name, ['alias']);
      await rt.connectNetwork(name, spec.name, ['alias']);
      await rt.disconnectNetwork(name, spec.name);
      await rt.removeNetwork(name);
      await rt.removeNetwork(name);
      expect(await rt.listNetworks(s.namespace, 'organization-network')).toEqual([]);
      await rt.remove(spec.name);
    });

    it("runs the proxy on the host's network with an operator's file mounted read-only and its config written", async () => {
      const dir = await mkdtemp(join(tmpdir(), 'marina-contract-'));
      const file = join(dir, 'roots.pem');
      await writeFile(file, 'PEM\n');
      const volume = `${s.namespace}-proxy-data`;
      await rt.ensureVolume(volume, labels('proxy'));
      const spec = {
        name: `${s.namespace}-proxy`,
        image: s.instanceImage,
        command: s.serve(['proxy up']),
        env: { XDG_DATA_HOME: '/data' },
        labels: labels('proxy'),
        mounts: [
          { type: 'volume' as const, source: volume, target: '/data' },
          { type: 'bind' as const, source: file, target: '/etc/marina/roots.pem', readOnly: true },
        ],
        config: { dir: '/tmp', name: 'bootstrap.json', content: '{}\n', uid: 0, gid: 0, mode: 0o644 },
      };
      await rt.createProxyServer(spec);
      expect((await rt.state(spec.name))?.running).toBe(false);
      expect(await rt.readFile(spec.name, '/tmp/bootstrap.json')).toBe('{}\n');
      const details = await rt.describe(spec.name);
      expect(details?.mounts).toContainEqual({ type: 'bind', source: file, target: '/etc/marina/roots.pem' });
      expect(details?.publishedPorts).toEqual({});
      await rt.start(spec.name);
      expect((await rt.state(spec.name))?.running).toBe(true);
      // On the host's own network: on none of Marina's networks.
      expect(await rt.address(spec.name, network())).toBeUndefined();
      await rt.remove(spec.name);
      await rt.removeVolume(volume);
      await rm(dir, { recursive: true, force: true });
    });

    it('runs a database server and publishes its port on loopback once it runs', async () => {
      const volume = `${s.namespace}-pgdata`;
      await rt.ensureVolume(volume, labels('postgres'));
      const spec = {
        name: `${s.namespace}-postgres`,
        image: s.toolsImage,
        command: ['postgres'],
        env: { POSTGRES_PASSWORD: 'contract' },
        labels: labels('postgres'),
        network: network(),
        alias: `${s.namespace}-pg`,
        volume,
        dataDir: '/var/lib/postgresql/data',
        port: 5432,
      };
      await rt.createDatabaseServer(spec);
      expect((await rt.state(spec.name))?.running).toBe(false);
      await rt.start(spec.name);
      expect(await rt.publishedPort(spec.name, 5432)).toBeGreaterThan(0);
      expect((await rt.describe(spec.name))?.memoryBytes).toBeGreaterThan(0);
      await rt.remove(spec.name);
      await rt.removeVolume(volume);
    });
  });
}
