import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../../test/helpers/app.js';
import { makeProject, requestInstance } from '../../../../test/helpers/factories.js';
import {
  createDatabaseFor,
  createRoleAndDatabase,
  databaseExists,
  dropDatabaseAndRole,
  type ServerConnection,
  withClient,
} from '../../../adapters/postgres/admin.js';
import type { Instance } from '../../../db/schema.js';
import { MemoryRuntime } from '../../../runtime/memory.js';
import { scratchVolumeName } from '../data-plane.js';
import { loadFolder, previousDb, tempDb } from './shared.js';
import { undoDb } from './undo-data.js';

/**
 * The recovery of a restore interrupted after its swap started, fast: on the in-memory stand-in
 * runtime (no Docker), with the test cluster as the "external" database server. Past the swap
 * the instance's data is being replaced, so the recovery finishes the swap rather than undo it.
 * The stand-in has no shell: the test registers `sh` and records the filestore scripts it is
 * given (what they do to files is the Docker runtime's business, tested with Docker).
 */
const IMAGE = 'marina-test/odoo-standin';
const namespace = 'mtmemrestorerecovery';
const memory = new MemoryRuntime({ images: [IMAGE] });
const scripts: string[][] = [];
memory.programs.set('sh', ({ args }) => {
  scripts.push(args);
  return 0;
});
let t: TestApp;
let admin: Browser;
let instance: Instance;
let server: ServerConnection;

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: namespace,
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_BACKUP_TOOLS_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  admin = await adminBrowser(t);
  const call = as(t, admin);
  await call('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
  // The stand-in runs no Odoo: provisioning fails and is undone, but the instance row remains.
  const project = await makeProject(call);
  const created = await requestInstance(call, { project: project.id, name: 'main' });
  instance = await vi.waitFor(
    async () => {
      const row = await t.services.instances.row(created.instance.id);
      expect(row.status).toBe('failed');
      return row;
    },
    { timeout: 20_000, interval: 100 },
  );
  server = await t.services.databaseServers.connection(
    await t.services.databaseServers.get(instance.database_server_id ?? ''),
  );
});

afterAll(async () => {
  // The test cluster outlives this file: leave no database or role of it behind.
  if (server && instance) await dropDatabaseAndRole(server, instance.db_name);
  await t?.close();
});

/** Which database the instance's name points at: the table each one was given says. */
const marker = (db: string) =>
  withClient(server, db, async (c) => (await c.query<{ n: string }>('SELECT n FROM marker')).rows[0]?.n);

describe('a restore interrupted after the swap started', () => {
  it('is finished by its recovery: the loaded database takes the name, what was put aside is the undo', async () => {
    const db = instance.db_name;
    // The instance's own database, and the restored one loaded aside, each marked.
    await createRoleAndDatabase(server, db, randomUUID());
    await withClient(server, db, (c) => c.query("CREATE TABLE marker AS SELECT 'own' AS n"));
    await createDatabaseFor(server, tempDb(db), db);
    await withClient(server, tempDb(db), (c) => c.query("CREATE TABLE marker AS SELECT 'restored' AS n"));
    await t.services.instances.setStatus(instance.id, 'restoring', null);
    const op = await t.db
      .insertInto('operations')
      .values({
        kind: 'backup.restore',
        organization_id: instance.organization_id,
        host_id: instance.host_id,
        target_type: 'instance',
        target_id: instance.id,
        status: 'running',
        step: 'swap',
        steps: JSON.stringify([{ name: 'swap', status: 'running' }]),
        input: JSON.stringify({ backupId: randomUUID(), existing: true, copy: false, neutralize: false }),
        resources: JSON.stringify({
          wasRunning: false,
          stopped: true,
          tempDb: tempDb(db),
          loadDir: loadFolder(db),
          swap: 'started',
        }),
        actor_label: 'test',
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const scratch = scratchVolumeName({ namespace, operationId: op.id });
    await memory.ensureVolume(scratch, {});

    await t.services.runner.recoverInterrupted();

    expect(await marker(db)).toBe('restored');
    expect(await databaseExists(server, tempDb(db))).toBe(false);
    expect(await databaseExists(server, previousDb(db))).toBe(false);
    // What the swap put aside is kept as the undo, for the configured 24 hours.
    expect(await marker(undoDb(db))).toBe('own');
    const kept = await t.services.instances.row(instance.id);
    expect(kept.undo_operation_id).toBe(op.id);
    expect(kept.undo_until?.getTime()).toBe(t.clock.now().getTime() + 24 * 3600_000);
    // The filestore: the loaded folder moved in place, then the folder it replaced kept aside.
    const names = scripts.map((args) => args.slice(3));
    expect(names).toContainEqual([db, loadFolder(db)]);
    expect(scripts.some((args) => args[1]?.includes('mv -- "$1.previous" "$1.undo"'))).toBe(true);
    expect(await memory.volumeExists(scratch)).toBe(false);
    // Restored, not half: the instance is no longer "restoring" (no container here, so stopped).
    const row = await t.services.instances.row(instance.id);
    expect(row.status).toBe('stopped');
    expect(row.status_detail).toBeNull();
  });
});

/** The instance's databases as a test wants them: each name given gets a database marked with its text. */
async function databases(marks: Record<string, string>): Promise<void> {
  const db = instance.db_name;
  await dropDatabaseAndRole(server, db);
  await createRoleAndDatabase(server, db, randomUUID());
  for (const [name, mark] of Object.entries(marks)) {
    if (name !== db) await createDatabaseFor(server, name, db);
    await withClient(server, name, (c) => c.query('CREATE TABLE marker AS SELECT $1::text AS n', [mark]));
  }
}

/** An operation on the instance as Marina left it when it was killed, in its step with its memory. */
async function interrupted(kind: string, step: string, input: object, resources: object) {
  return t.db
    .insertInto('operations')
    .values({
      kind,
      organization_id: instance.organization_id,
      host_id: instance.host_id,
      target_type: 'instance',
      target_id: instance.id,
      status: 'running',
      step,
      steps: JSON.stringify([{ name: step, status: 'running' }]),
      input: JSON.stringify(input),
      resources: JSON.stringify(resources),
      actor_label: 'test',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

describe('a restore interrupted while it loads beside the live instance', () => {
  it('drops what was loaded and leaves the instance serving as it was', async () => {
    const db = instance.db_name;
    await databases({ [db]: 'own', [tempDb(db)]: 'half loaded' });
    await t.services.instances.setStatus(instance.id, 'running', null);
    await interrupted(
      'backup.restore',
      'load',
      { backupId: randomUUID(), existing: true, copy: false, neutralize: false },
      { tempDb: tempDb(db), loadDir: loadFolder(db), scratch: true },
    );

    await t.services.runner.recoverInterrupted();

    expect(await marker(db)).toBe('own');
    expect(await databaseExists(server, tempDb(db))).toBe(false);
    const row = await t.services.instances.row(instance.id);
    expect(row.status).toBe('running');
  });
});

describe('an undo interrupted', () => {
  const undoInput = {};

  it('after its stage, before the swap: the kept data goes back under its undo name', async () => {
    const db = instance.db_name;
    // Staged: the kept database took the name a restore loads into.
    await databases({ [db]: 'restored', [tempDb(db)]: 'own' });
    await t.services.instances.setStatus(instance.id, 'running', null);
    await interrupted('instance.undo_restore', 'stop', undoInput, { staged: true });

    await t.services.runner.recoverInterrupted();

    expect(await marker(db)).toBe('restored');
    expect(await marker(undoDb(db))).toBe('own');
    expect(await databaseExists(server, tempDb(db))).toBe(false);
    expect((await t.services.instances.row(instance.id)).status).toBe('running');
  });

  it('after its swap started: the swap is finished and what it swapped out is the undo', async () => {
    const db = instance.db_name;
    await databases({ [db]: 'restored', [tempDb(db)]: 'own' });
    await t.services.instances.setStatus(instance.id, 'restoring', null);
    const op = await interrupted('instance.undo_restore', 'swap', undoInput, {
      staged: true,
      stopped: true,
      wasRunning: false,
      swap: 'started',
    });

    await t.services.runner.recoverInterrupted();

    expect(await marker(db)).toBe('own');
    expect(await marker(undoDb(db))).toBe('restored');
    expect(await databaseExists(server, tempDb(db))).toBe(false);
    expect(await databaseExists(server, previousDb(db))).toBe(false);
    const row = await t.services.instances.row(instance.id);
    expect(row.undo_operation_id).toBe(op.id);
    expect(row.status).toBe('stopped');
  });
});
