import { Type } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Backup } from '../../db/schema.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { defineJob, JobCancelled, jobSpec, planJob } from '../../platform/jobs/define.js';
import { type OperationService, type OperationView, operationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { patterns } from '../../platform/validation.js';
import type { BackupQueries } from '../backups/queries.js';
import type { CopyService } from './copies.js';
import type { DestinationService } from './destinations.js';

const Id = Type.String({ pattern: patterns.uuid });

/**
 * "Retry copy": uploads an existing backup again to the destinations whose copy failed. Its target
 * is the backup, not the instance: copying a file that exists already never locks the instance.
 */
export const copyRetryJob = jobSpec({
  kind: 'backup.copy',
  input: Type.Object(
    { backupId: Id, destinationIds: Type.Array(Id, { minItems: 1 }) },
    { additionalProperties: false },
  ),
  plan: () => ['upload'],
  // Cancellable while queued or between attempts; a failed one may simply run again.
  control: { cancel: 'waiting', retry: true },
});

export interface CopyRetryDeps {
  db: Db;
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
  queries: BackupQueries;
  destinations: DestinationService;
  copies: CopyService;
}

export function copyRetryHandler(deps: CopyRetryDeps) {
  return defineJob({
    ...copyRetryJob,
    run: async (job) => {
      const backup = await deps.queries.row(job.input.backupId);
      const { destinationIds } = job.input;
      await job.step('upload', async () => {
        let firstError: unknown;
        for (const [index, id] of destinationIds.entries()) {
          const destination = await deps.destinations.row(id);
          try {
            await deps.copies.upload(backup, destination, {
              progress: (f) => void job.progress(((index + f) / destinationIds.length) * 100),
              log: (message, level) => void job.log(message, level),
              wait: (ms, reason) => job.wait(ms, reason),
            });
          } catch (error) {
            // Cancelled while waiting to retry: the other destinations are not tried either.
            if (error instanceof JobCancelled) throw error;
            // The other destinations still get their copy; the step fails once all were tried.
            firstError ??= error;
          }
        }
        if (firstError) throw firstError;
      });
      return { backupId: backup.id, destinationIds };
    },
    recover: async ({ input }) => {
      await deps.copies.failUnfinished(input.backupId, 'Marina stopped or the job failed during this upload.');
    },
  });
}

/** Queues the retry of a backup's failed copies; a retry already under way is answered, not doubled. */
export async function retryFailedCopies(
  deps: CopyRetryDeps,
  ctx: RequestContext,
  backupId: string,
): Promise<OperationView> {
  const backup: Backup = await deps.queries.get(ctx.actor, backupId, 'admin');
  const running = await deps.db
    .selectFrom('operations')
    .selectAll()
    .where('kind', '=', copyRetryJob.kind)
    .where('target_id', '=', backup.id)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  if (running) return operationView(running);
  if (backup.status !== 'completed' || backup.local_status !== 'present')
    throw new MarinaError(
      'MARINA_E_BACKUP_UNAVAILABLE',
      'Only a completed backup whose file is still here can be copied again.',
    );
  const failed = await deps.db
    .selectFrom('backup_copies')
    .select('destination_id')
    .where('backup_id', '=', backup.id)
    .where('status', '=', 'failed')
    .execute();
  if (failed.length === 0)
    throw new MarinaError('MARINA_E_CONFLICT', 'No copy of this backup failed: there is nothing to retry.');
  const destinationIds = failed.map((c) => c.destination_id);
  const destinations = await Promise.all(destinationIds.map((id) => deps.destinations.row(id)));
  const op = await deps.db.transaction().execute(async (trx) => {
    const inserted = await deps.operations.insert(trx, ctx.actor, {
      job: planJob(copyRetryJob, { backupId: backup.id, destinationIds }),
      organizationId: backup.organization_id,
      hostId: null,
      target: { type: 'backup', id: backup.id, label: backup.instance_label },
    });
    await deps.audit.record(
      ctx,
      {
        action: 'backup.retry_copy',
        organizationId: backup.organization_id,
        target: { type: 'backup', id: backup.id, label: backup.instance_label },
        details: { destinations: destinations.map((d) => d.name) },
      },
      trx,
    );
    return inserted;
  });
  // Pending at once: the run shows "running" from the click on, not "partial" until the job starts.
  await deps.copies.plan(backup, destinations);
  await deps.runner.enqueue(op);
  return operationView(op);
}
