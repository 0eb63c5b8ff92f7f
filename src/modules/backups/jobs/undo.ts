import { type Static, Type } from 'typebox';
import type { OperationError } from '../../../db/schema.js';
import { MarinaError } from '../../../platform/errors.js';
import { defineJob, type FailedJob, type JobContext } from '../../../platform/jobs/define.js';
import { healthy } from '../../instances/jobs.js';
import { swapFilestore } from '../engine.js';
import { type BackupJobDeps, loadFolder, planeFor, swapDatabase } from './shared.js';
import { expireUndoJob, undoRestoreJob } from './specs.js';
import { bringBack, stopForSwap } from './swap-downtime.js';
import { clearAside, dropUndo, keepReplaced, stageUndo, unstageUndo } from './undo-data.js';

const UndoMemory = Type.Object({
  staged: Type.Boolean(),
  wasRunning: Type.Boolean(),
  stopped: Type.Boolean(),
  swap: Type.Union([Type.Literal('started'), Type.Literal('done')]),
});
type UndoMemory = Static<typeof UndoMemory>;
type UndoStep = 'stage' | 'stop' | 'swap' | 'start' | 'health' | 'keep';

export const undoRestoreHandler = (deps: BackupJobDeps) =>
  defineJob({
    ...undoRestoreJob,
    resources: UndoMemory,
    run: async (job: JobContext<Record<string, never>, UndoStep, UndoMemory>) => {
      const id = job.operation.target_id ?? '';
      let instance = await deps.instances.row(id);
      const engine = await deps.hosts.reachableRuntime(instance.host_id);
      const plane = await planeFor(deps, instance, job.operation.id);
      // The kept data takes the names a restore loads into, while Odoo still serves.
      await job.step('stage', async () => {
        if (!instance.undo_until || instance.undo_until <= deps.clock.now())
          throw new MarinaError('MARINA_E_NOTHING_TO_UNDO', 'Nothing is kept to swap back: no undo, or it expired.');
        await job.remember('staged', true);
        const staged = await stageUndo(plane, instance);
        if (!staged.db && !staged.files)
          throw new MarinaError('MARINA_E_NOTHING_TO_UNDO', 'The kept database and filestore are gone.');
        await clearAside(plane, instance, { undo: false });
        await job.log(
          `Kept aside: ${[staged.db ? 'the database' : '', staged.files ? 'the filestore' : ''].filter(Boolean).join(' and ')}.`,
        );
      });
      await job.step('stop', async () => {
        instance = await stopForSwap(deps, engine, job, instance, 'stopped to swap back the data a restore replaced');
      });
      await job.step('swap', async () => {
        await job.remember('swap', 'started');
        await Promise.all([
          swapDatabase(plane, instance.db_name),
          swapFilestore(plane, instance.volume_name, instance.db_name, loadFolder(instance.db_name)),
        ]);
        await job.remember('swap', 'done');
      });
      await job.step('start', async () => {
        instance = await deps.instances.setStatus(id, 'starting', null);
        await engine.start(instance.container_name);
      });
      await job.step('health', () => healthy(deps, engine, instance));
      await job.step('keep', async () => {
        const outcome = await keepReplaced(deps, plane, instance, job.operation.id);
        await job.log(
          outcome === 'kept'
            ? 'What was swapped out is kept aside in turn: this undo can be undone.'
            : 'What was swapped out is deleted (MARINA_RESTORE_UNDO_HOURS is 0).',
        );
      });
      await deps.completed?.restore(id).catch(() => undefined);
      return { instanceId: id };
    },
    recover: async ({ operation, resources: r }: FailedJob<unknown, UndoMemory>, error: OperationError) => {
      const instance = await deps.instances.row(operation.target_id ?? '').catch(() => undefined);
      if (!instance?.database_server_id) return;
      const engine = await deps.hosts.reachableRuntime(instance.host_id);
      const plane = await planeFor(deps, instance, operation.id);
      const swapped = r.swap === 'started' || r.swap === 'done';
      if (swapped) {
        // Past the point of no return: finish the swap and keep what it put aside.
        await swapDatabase(plane, instance.db_name);
        await swapFilestore(plane, instance.volume_name, instance.db_name, loadFolder(instance.db_name));
        await keepReplaced(deps, plane, instance, operation.id);
      } else if (r.staged) {
        await unstageUndo(plane, instance);
      }
      if (!r.stopped) return;
      await bringBack(deps, engine, instance, {
        wasRunning: r.wasRunning === true,
        swapped,
        failure: `The undo failed; nothing was changed: ${error.message}`,
      });
    },
  });

export const expireUndoHandler = (deps: BackupJobDeps) =>
  defineJob({
    ...expireUndoJob,
    run: async (job: JobContext<Record<string, never>, 'delete'>) => {
      const instance = await deps.instances.row(job.operation.target_id ?? '');
      await job.step('delete', async () => {
        // An undo taken again since this job was queued has a new time: it stays.
        if (!instance.undo_until || instance.undo_until > deps.clock.now() || !instance.database_server_id) {
          await job.log('Nothing expired: the undo was used, replaced or kept longer since.');
          return;
        }
        // Deleted first, recorded after: a crash in between leaves a record the next round finishes.
        await dropUndo(await planeFor(deps, instance, job.operation.id), instance);
        await deps.instances.setUndo(instance.id, null);
        await job.log('The database and filestore kept as the undo of the last restore expired and are deleted.');
      });
      return { instanceId: instance.id };
    },
  });
