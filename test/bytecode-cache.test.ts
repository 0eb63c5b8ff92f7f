import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BytecodeCaches } from '../src/modules/instances/bytecode.js';
import { ODOO_BYTECODE_DIR } from '../src/modules/instances/odoo-container.js';
import { buildCatalog } from '../src/odoo/versions.js';
import type { Runtime } from '../src/runtime/port.js';
import type { Browser, TestApp } from './helpers/app.js';
import {
  docker,
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from './helpers/docker.js';

/**
 * Compiled Python for a mounted Odoo source (#18: Odoo's start) on the real Docker engine, with the
 * Odoo stand-in and a small source tree of its own: the first need builds the cache in the
 * background, later containers mount it read-only and Python loads from it, a changed source file
 * is never served from it, and a failed build mounts nothing and leaves nothing unknown.
 * test/odoo/ does the same on real Odoo 17.
 */
const namespace = testNamespace();
let t: TestApp;
let admin: Browser;
let baseUrl: string;
let headers: Record<string, string>;
let engine: Runtime;
let source: string;

/** A readable source tree shaped like Odoo's: odoo-bin, the `odoo` package, an addons folder. */
async function sourceTree(mode: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'marina-src-'));
  await mkdir(join(dir, 'odoo'));
  await mkdir(join(dir, 'addons', 'web'), { recursive: true });
  await writeFile(join(dir, 'odoo-bin'), '');
  await writeFile(join(dir, 'odoo', '__init__.py'), 'VALUE = 1\n');
  await writeFile(join(dir, 'addons', 'web', '__init__.py'), 'NAME = "web"\n');
  for (const path of [dir, join(dir, 'odoo'), join(dir, 'addons'), join(dir, 'addons', 'web')]) await chmod(path, mode);
  return dir;
}

/** Python's own account of where each module's code came from (`-v`). */
async function importFrom(container: string, module: string): Promise<string> {
  const program = `import sys; sys.path.insert(0, '/opt/odoo'); import ${module}, json; print(${module}.VALUE)`;
  const result = await engine.exec(container, ['python3', '-v', '-c', program]);
  expect(result.exitCode, result.output).toBe(0);
  return result.output;
}

const rows = () => t.db.selectFrom('bytecode_caches').selectAll().execute();

beforeAll(async () => {
  await requireDocker();
  source = await sourceTree(0o755);
  ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, {
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    MARINA_ODOO_17_SOURCE: source,
  }));
  engine = await t.services.hosts.reachableRuntime('local');
}, 120_000);

afterAll(async () => {
  await t?.services.bytecode.settled();
  await t?.close();
  await removeNamespace(namespace);
  if (source) await rm(source, { recursive: true, force: true });
});

describe('compiled Python for a mounted Odoo source', () => {
  it('is built on the first need, then mounted read-only into new containers, and Python loads from it', async () => {
    const first = await provisionInstance({ t, admin, baseUrl, headers }, { name: 'first' });
    const project = (await t.services.instances.row(first.instance.id)).project_id;
    await t.services.bytecode.settled();
    const [row] = await rows();
    expect(row?.built_at).toBeInstanceOf(Date);
    expect(row?.source).toBe(source);
    expect(row?.volume_name).toMatch(new RegExp(`^${namespace}-bytecode-[0-9a-f]{16}$`));

    const { instance } = await provisionInstance({ t, admin, baseUrl, headers }, { name: 'second', project });
    const name = (await t.services.instances.row(instance.id)).container_name;
    const container = await docker.getContainer(name).inspect();
    const mount = container.Mounts.find((m) => m.Destination === ODOO_BYTECODE_DIR);
    expect(mount).toMatchObject({ Type: 'volume', Name: row?.volume_name, RW: false });
    expect(container.Config.Env).toContain(`PYTHONPYCACHEPREFIX=${ODOO_BYTECODE_DIR}`);

    const output = await importFrom(name, 'odoo');
    // The source's own package and the standard library both come compiled from the cache.
    expect(output).toContain(`code object from '${ODOO_BYTECODE_DIR}/opt/odoo/odoo/__init__.cpython-`);
    expect(output).toMatch(new RegExp(`code object from '${ODOO_BYTECODE_DIR}/usr/lib/python3\\.\\d+/json/__init__`));

    // Read-only where the instance runs: its Odoo cannot plant code in another instance's start.
    const write = await engine.exec(name, ['touch', `${ODOO_BYTECODE_DIR}/planted`]);
    expect(write.exitCode).not.toBe(0);

    // A source file changed since the build is compiled again, never taken from the cache.
    await writeFile(join(source, 'odoo', '__init__.py'), 'VALUE = 22\n');
    const changed = await importFrom(name, 'odoo');
    expect(changed).toMatch(/^22$/m);
    expect(changed).not.toContain(`code object from '${ODOO_BYTECODE_DIR}/opt/odoo/odoo/__init__`);

    // Marina knows the volume: reconciliation does not call it an orphan.
    const report = await t.services.reconcile.report();
    expect(report.orphans.map((o) => o.name)).not.toContain(row?.volume_name);
  }, 300_000);

  it('mounts nothing when a build fails, says so in its log, and tries again on a later need', async () => {
    const unreadable = await sourceTree(0o700);
    const catalog = { ...buildCatalog()['17.0'], image: TEST_IMAGES.standin, sourceMount: unreadable };
    const warnings: string[] = [];
    const logger = { warn: (_: unknown, message: string) => warnings.push(message) } as unknown as Logger;
    const caches = new BytecodeCaches({ db: t.db, clock: t.clock, logger, hosts: t.services.hosts, namespace });
    try {
      expect(await caches.volumeFor('local', catalog)).toBeUndefined();
      await caches.settled();
      expect(warnings).toEqual(['building the bytecode cache failed']);
      const row = (await rows()).find((r) => r.source === unreadable);
      expect(row?.built_at).toBeNull();
      // Its volume is known all the same (recorded before it was made).
      expect(await engine.volumeExists(row?.volume_name ?? '')).toBe(true);
      expect((await t.services.reconcile.report()).orphans.map((o) => o.name)).not.toContain(row?.volume_name);

      expect(await caches.volumeFor('local', catalog)).toBeUndefined();
      await caches.settled();
      expect(warnings).toHaveLength(2);

      // Without a source folder there is nothing to compile: the image brings its own.
      expect(await caches.volumeFor('local', { ...catalog, sourceMount: undefined })).toBeUndefined();
      await caches.settled();
      expect(warnings).toHaveLength(2);
    } finally {
      await rm(unreadable, { recursive: true, force: true });
    }
  }, 120_000);
});
