import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../../test/helpers/app.js';
import { makeProject, requestInstance } from '../../../../test/helpers/factories.js';
import { PARTIAL_SUFFIX } from '../../../adapters/archive/backup-file.js';
import type { Backup } from '../../../db/schema.js';
import { MemoryRuntime } from '../../../runtime/memory.js';
import { scratchVolumeName } from '../data-plane.js';

/**
 * The recovery of an interrupted backup job, fast: on the in-memory stand-in runtime (no Docker).
 * Marina "stops" while the job runs: the job is left running in the records, with what it made
 * so far (a backup row, its files, a scratch volume), and the next start's `recoverInterrupted`
 * must leave no file that looks like a good backup.
 */
const IMAGE = 'marina-test/odoo-standin';
const namespace = 'mtmembackuprecovery';
const memory = new MemoryRuntime({ images: [IMAGE] });
let dataDir: string;
let t: TestApp;
let admin: Browser;
let instanceId: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'marina-backup-recovery-'));
  t = await createTestApp(
    {
      MARINA_NAMESPACE: namespace,
      MARINA_DATA_DIR: dataDir,
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  admin = await adminBrowser(t);
  const call = as(t, admin);
  await call('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
  // The stand-in runs no Odoo: provisioning fails, but the instance row (and its host) remain.
  const project = await makeProject(call);
  const created = await requestInstance(call, { project: project.id, name: 'main' });
  instanceId = created.instance.id;
  await vi.waitFor(async () => expect((await t.services.instances.row(instanceId)).status).toBe('failed'), {
    timeout: 20_000,
    interval: 100,
  });
});

afterAll(async () => {
  await t?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A backup job as Marina leaves it when it stops mid-way: running, at `step`, with its backup. */
async function interruptedBackupJob(step: string, backupStatus: 'running' | 'completed') {
  const instance = await t.services.instances.row(instanceId);
  const op = await t.db
    .insertInto('operations')
    .values({
      kind: 'backup.create',
      organization_id: instance.organization_id,
      host_id: instance.host_id,
      target_type: 'instance',
      target_id: instance.id,
      status: 'running',
      step,
      steps: JSON.stringify([{ name: step, status: 'running' }]),
      input: JSON.stringify({ backupId: '', destinationIds: [] }),
      actor_label: 'test',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const backup = await t.services.backups.record(t.db, instance, {
    kind: 'full',
    format: 'native',
    trigger: 'manual',
    createdBy: 'test',
    operationId: op.id,
  });
  await t.db
    .updateTable('operations')
    .set({
      input: JSON.stringify({ backupId: backup.id, destinationIds: [] }),
      resources: JSON.stringify({ backup: backup.id, scratch: true }),
    })
    .where('id', '=', op.id)
    .execute();
  if (backupStatus === 'running') await t.services.backups.markRunning(backup.id);
  else await t.services.backups.markCompleted(backup.id, { sha256: 'a'.repeat(64), sizeBytes: 4, manifest: {} });
  // What the writer had put on disk, and the job's scratch area on the host.
  const path = t.services.backups.storage.pathOf(backup);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, 'data');
  await writeFile(path + PARTIAL_SUFFIX, 'half');
  const scratch = scratchVolumeName({ namespace, operationId: op.id });
  await memory.ensureVolume(scratch, {});
  return { op, backup, path, scratch };
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function backupRow(id: string): Promise<Backup> {
  return t.db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

describe('an interrupted backup job', () => {
  it('while writing: the backup is failed, its file and partial file are gone, and so is the scratch volume', async () => {
    const { op, backup, path, scratch } = await interruptedBackupJob('write', 'running');
    await t.services.runner.recoverInterrupted();
    const job = await t.db.selectFrom('operations').selectAll().where('id', '=', op.id).executeTakeFirstOrThrow();
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('MARINA_E_INTERRUPTED');
    expect(job.error?.step).toBe('write');
    const row = await backupRow(backup.id);
    expect(row.status).toBe('failed');
    expect(row.error).toContain('Marina stopped or the job failed while this backup was being written');
    expect(await exists(path)).toBe(false);
    expect(await exists(path + PARTIAL_SUFFIX)).toBe(false);
    expect(await memory.volumeExists(scratch)).toBe(false);
  });

  it('after the file was written and checked: the completed backup and its file stay', async () => {
    const { backup, path, scratch } = await interruptedBackupJob('upload', 'completed');
    await t.services.runner.recoverInterrupted();
    const row = await backupRow(backup.id);
    expect(row.status).toBe('completed');
    expect(await exists(path)).toBe(true);
    // The scratch area of the job goes all the same.
    expect(await memory.volumeExists(scratch)).toBe(false);
  });
});
