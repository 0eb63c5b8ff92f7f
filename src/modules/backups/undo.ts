import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import { type RequestContext, systemContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { planJob } from '../../platform/jobs/define.js';
import type { OperationView } from '../../platform/jobs/operations.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import { RoundTicker } from '../../platform/round-ticker.js';
import type { InstanceService } from '../instances/service.js';
import { expireUndoJob, undoRestoreJob } from './jobs/specs.js';

/** Expired undos are looked for this often: they cost storage, not correctness. */
const EXPIRY_INTERVAL_MS = 10 * 60_000;
const system = systemContext('restore undo');

export interface RestoreUndoDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  instances: InstanceService;
}

/** The undo of a restore: swapping back on request, deleting once its time is up. */
export class RestoreUndo {
  private readonly ticker: RoundTicker;

  constructor(private readonly deps: RestoreUndoDeps) {
    this.ticker = new RoundTicker(() => this.expire().then(() => undefined), {
      intervalMs: EXPIRY_INTERVAL_MS,
      logger: deps.logger,
      failure: 'deleting expired restore undos failed',
    });
  }

  start(): void {
    this.ticker.start();
  }

  stop(): Promise<void> {
    return this.ticker.stop();
  }

  /** Queues the swap back (admins; production needs its name, as a stop does). */
  async undo(ctx: RequestContext, instanceId: string, confirm: unknown): Promise<OperationView> {
    const row = await this.deps.instances.get(ctx.actor, instanceId);
    await requirePermissionOn(this.deps.db, ctx.actor, row, 'backup.manage');
    if (!row.undo_until || row.undo_until <= this.deps.clock.now())
      throw new MarinaError(
        'MARINA_E_NOTHING_TO_UNDO',
        'Nothing is kept to swap back: no restore or clone replaced this instance’s data, or its undo expired.',
      );
    this.deps.instances.requireConfirmation(row, confirm);
    return this.deps.instances.submit(ctx, row, planJob(undoRestoreJob, {}), 'instance.undo_restore', {
      details: { undoOf: row.undo_operation_id },
    });
  }

  /** Queues the deletion of every undo whose time is up; returns the instances concerned. */
  async expire(): Promise<string[]> {
    const due = await this.deps.db
      .selectFrom('instances')
      .selectAll()
      .where('undo_until', '<=', this.deps.clock.now())
      .where('status', 'not in', ['deleting', 'failed'])
      .execute();
    const queued: string[] = [];
    for (const instance of due) {
      const pending = await this.deps.db
        .selectFrom('operations')
        .select('id')
        .where('target_id', '=', instance.id)
        .where('kind', '=', expireUndoJob.kind)
        .where('status', 'in', ['queued', 'running'])
        .executeTakeFirst();
      if (pending) continue;
      try {
        await this.deps.instances.submit(system, instance, planJob(expireUndoJob, {}), 'instance.expire_undo');
        queued.push(instance.id);
      } catch (error) {
        this.deps.logger.warn({ err: error, instance: instance.id }, 'an expired restore undo could not be queued');
      }
    }
    return queued;
  }
}
