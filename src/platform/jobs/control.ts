import type { Db } from '../../db/database.js';
import type { Operation } from '../../db/schema.js';
import { requireAccess } from '../access.js';
import type { AuditService } from '../audit/service.js';
import type { Actor, RequestContext } from '../context.js';
import { MarinaError } from '../errors.js';
import { controlOf, planJob } from './define.js';
import {
  canCancel,
  canRetry,
  isFinished,
  type OperationService,
  type OperationView,
  operationView,
} from './operations.js';
import type { JobRunner } from './runner.js';

export interface JobControlDeps {
  db: Db;
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
}

const actorLabel = (actor: Actor) => (actor.kind === 'user' ? actor.email : actor.label);
const jobLabel = (op: Operation) => `${op.kind}${op.target_label ? ` ${op.target_label}` : ''}`;

/** How long a cancel waits for the job to wind down, to answer its final state. */
const SETTLE_MS = 10_000;

/**
 * What users may do to a job besides watching it: cancel it where its kind says that is safe, and
 * queue a failed one again. Both need the admin role in the job's organization (a stranger's job
 * does not exist for them), and both are audited.
 */
export class JobControl {
  constructor(private readonly deps: JobControlDeps) {}

  private async adminsJob(actor: Actor, id: string): Promise<Operation> {
    const op = await this.deps.operations.get(actor, id);
    // Platform-wide jobs are visible to platform admins only (`get` refused everyone else).
    if (op.organization_id) await requireAccess(this.deps.db, actor, op.organization_id, 'admin', 'Job');
    return op;
  }

  async cancel(ctx: RequestContext, id: string): Promise<OperationView> {
    const op = await this.adminsJob(ctx.actor, id);
    if (!canCancel(op)) throw notCancellable(op);
    const by = actorLabel(ctx.actor);
    const settled = this.settled(op.id);
    let done = false;
    if (op.status === 'queued') done = await this.deps.runner.cancelQueued(op, by);
    if (!done) {
      // Queued a moment ago and taken by a worker since, or waiting: only a wait can be cut short.
      const now = await this.deps.operations.get(ctx.actor, id);
      done = canCancel(now) && now.status === 'running' && this.deps.runner.cancelWaiting(now.id, by);
      if (!done) {
        settled.stop();
        throw notCancellable(now);
      }
    }
    await this.deps.audit.record(ctx, {
      action: 'job.cancel',
      organizationId: op.organization_id,
      target: { type: 'job', id: op.id, label: jobLabel(op) },
      details: { kind: op.kind, status: op.status, step: op.step },
    });
    await settled.done;
    return operationView(await this.deps.operations.get(ctx.actor, id));
  }

  async retry(ctx: RequestContext, id: string): Promise<OperationView> {
    const op = await this.adminsJob(ctx.actor, id);
    if (!canRetry(op)) {
      const reason = isFinished(op.status)
        ? op.status === 'succeeded'
          ? 'it succeeded'
          : `a ${op.kind} job cannot simply run again with the same input; start it again from its page`
        : 'it has not ended';
      throw new MarinaError('MARINA_E_JOB_NOT_RETRYABLE', `This job cannot be retried: ${reason}.`, {
        status: op.status,
        kind: op.kind,
      });
    }
    if (op.target_id && op.target_type === 'instance') {
      const [holder] = await this.deps.operations.holding(op.target_id);
      if (holder)
        throw new MarinaError(
          'MARINA_E_INSTANCE_BUSY',
          `Another job (${holder.kind}, ${holder.id}) is running for ${op.target_label ?? 'this instance'}; retry once it ends.`,
          { job: holder.id, kind: holder.kind },
        );
    }
    const job = planJob(this.deps.runner.handlerFor(op.kind), op.input);
    const created = await this.deps.db.transaction().execute(async (trx) => {
      const inserted = await this.deps.operations.insert(trx, ctx.actor, {
        job,
        organizationId: op.organization_id,
        hostId: op.host_id,
        target:
          op.target_type && op.target_id
            ? { type: op.target_type, id: op.target_id, label: op.target_label ?? undefined }
            : undefined,
        retryOf: op.id,
      });
      await this.deps.audit.record(
        ctx,
        {
          action: 'job.retry',
          organizationId: op.organization_id,
          target: { type: 'job', id: op.id, label: jobLabel(op) },
          details: { kind: op.kind, job: inserted.id },
        },
        trx,
      );
      return inserted;
    });
    await this.deps.runner.enqueue(created);
    return operationView(created);
  }

  /** Resolves once the job has ended (or after SETTLE_MS): a cancel answers the job as it ended. */
  private settled(id: string): { done: Promise<void>; stop(): void } {
    const bus = this.deps.operations.bus;
    let listener: (job: OperationView) => void = () => {};
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      bus.off(`op:${id}`, listener);
      clearTimeout(timer);
    };
    const done = new Promise<void>((resolve) => {
      listener = (job) => {
        if (isFinished(job.status)) resolve();
      };
      bus.on(`op:${id}`, listener);
      timer = setTimeout(resolve, SETTLE_MS);
      timer.unref();
    }).finally(stop);
    return { done, stop };
  }
}

function notCancellable(op: Operation): MarinaError {
  const cancel = controlOf(op.kind).cancel;
  const reason = isFinished(op.status)
    ? `it has already ${op.status === 'cancelled' ? 'been cancelled' : op.status}`
    : cancel === undefined
      ? `a ${op.kind} job is never stopped half-way: wait for it to end`
      : cancel === 'queued'
        ? 'it has started, and a started job of this kind is not stopped half-way: wait for it to end'
        : 'it is working now, not waiting to try again: it can be cancelled while it waits';
  return new MarinaError('MARINA_E_JOB_NOT_CANCELLABLE', `This job cannot be cancelled: ${reason}.`, {
    status: op.status,
    kind: op.kind,
    step: op.step,
  });
}
