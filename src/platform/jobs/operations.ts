import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Operation, OperationStatus } from '../../db/schema.js';
import { memberOrganizations, requireAccess } from '../access.js';
import type { Clock } from '../clock.js';
import type { Actor } from '../context.js';
import { MarinaError, notFound } from '../errors.js';
import { isUuid } from '../validation.js';
import { controlOf, holdsTarget, type PlannedJob } from './define.js';
import type { Job, JobLogLine } from './schemas.js';

/** A job as the API answers it (the `Job` schema). */
export type OperationView = Static<typeof Job>;

/** One line of a job's log (the `JobLogLine` schema). */
export type OperationLogLine = Static<typeof JobLogLine>;

export const operationView = (op: Operation): OperationView => ({
  id: op.id,
  kind: op.kind,
  status: op.status,
  progress: op.progress,
  step: op.step,
  steps: op.steps,
  target: op.target_type && op.target_id ? { type: op.target_type, id: op.target_id, label: op.target_label } : null,
  organizationId: op.organization_id,
  hostId: op.host_id,
  result: op.result,
  error: op.error,
  actor: { id: op.actor_id, label: op.actor_label },
  createdAt: op.created_at.toISOString(),
  startedAt: op.started_at?.toISOString() ?? null,
  finishedAt: op.finished_at?.toISOString() ?? null,
  waitingUntil: op.waiting_until?.toISOString() ?? null,
  waitingFor: op.waiting_for,
  retryOf: op.retry_of,
  can: { cancel: canCancel(op), retry: canRetry(op) },
  holdsTarget: holdsTarget(op),
});

/** Queued, or waiting between attempts, when its kind says that is safe. */
export function canCancel(op: Pick<Operation, 'kind' | 'status' | 'waiting_until'>): boolean {
  const cancel = controlOf(op.kind).cancel;
  if (op.status === 'queued') return cancel !== undefined;
  return op.status === 'running' && cancel === 'waiting' && op.waiting_until !== null;
}

/** Failed or cancelled, when its kind may simply run again with the same input. */
export const canRetry = (op: Pick<Operation, 'kind' | 'status'>): boolean =>
  (op.status === 'failed' || op.status === 'cancelled') && controlOf(op.kind).retry === true;

export const isFinished = (status: OperationStatus): boolean =>
  status === 'succeeded' || status === 'failed' || status === 'cancelled';

/**
 * In-process fan-out of operation changes to SSE clients. One Marina process runs the jobs and
 * serves the streams, so an EventEmitter is enough; several processes would need LISTEN/NOTIFY.
 */
export class OperationBus extends EventEmitter {
  constructor() {
    super();
    // Every open SSE stream listens; the default limit of 10 is for catching leaks, not for servers.
    this.setMaxListeners(0);
  }
  publish(op: OperationView): void {
    this.emit(`op:${op.id}`, op);
    this.emit('op', op);
  }
  publishLog(operationId: string, line: OperationLogLine): void {
    this.emit(`log:${operationId}`, line);
  }
}

export interface NewOperation {
  /** The job with its checked input and its steps, from `planJob`: the queueing code lists no steps. */
  job: PlannedJob;
  organizationId: string | null;
  hostId: string | null;
  target?: { type: string; id: string; label?: string };
  /** The failed or cancelled job this one repeats. */
  retryOf?: string;
}

export interface OperationQuery {
  status?: OperationStatus;
  kind?: string;
  targetId?: string;
  organizationId?: string;
  /** Created at or after / before these times. */
  since?: Date;
  until?: Date;
  limit: number;
  before?: string;
}

const actorId = (actor: Actor) => (actor.kind === 'user' ? actor.userId : null);
const actorLabel = (actor: Actor) => (actor.kind === 'user' ? actor.email : actor.label);

export interface OperationServiceDeps {
  db: Db;
  clock: Clock;
  /** Where changes are published for the SSE streams. */
  bus: OperationBus;
}

/** The operations table users see: what ran, what runs, its steps, progress, logs and outcome. */
export class OperationService {
  /** Where changes are published for the SSE streams. */
  readonly bus: OperationBus;

  constructor(private readonly deps: OperationServiceDeps) {
    this.bus = deps.bus;
  }

  async insert(db: Db, actor: Actor, input: NewOperation): Promise<Operation> {
    return db
      .insertInto('operations')
      .values({
        kind: input.job.kind,
        organization_id: input.organizationId,
        host_id: input.hostId,
        target_type: input.target?.type ?? null,
        target_id: input.target?.id ?? null,
        target_label: input.target?.label ?? null,
        status: 'queued',
        steps: JSON.stringify(
          input.job.steps.map((name) => ({ name, status: 'pending', startedAt: null, finishedAt: null })),
        ),
        input: JSON.stringify(input.job.input),
        retry_of: input.retryOf ?? null,
        actor_id: actorId(actor),
        actor_label: actorLabel(actor),
        created_at: this.deps.clock.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Organization members see their organization's operations; platform-wide ones are for admins. */
  async get(actor: Actor, id: string): Promise<Operation> {
    if (!isUuid(id)) throw notFound('Job');
    const op = await this.deps.db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!op) throw notFound('Job');
    await this.requireVisible(actor, op);
    return op;
  }

  private async requireVisible(actor: Actor, op: Operation): Promise<void> {
    if (actor.kind === 'system' || actor.isPlatformAdmin) return;
    if (!op.organization_id) throw notFound('Job');
    await requireAccess(this.deps.db, actor, op.organization_id, 'viewer', 'Job');
  }

  async list(actor: Actor, query: OperationQuery): Promise<{ jobs: OperationView[]; nextCursor: string | null }> {
    let q = this.deps.db.selectFrom('operations').selectAll();
    if (actor.kind === 'user' && !actor.isPlatformAdmin) {
      q = q.where('organization_id', 'in', memberOrganizations(this.deps.db, actor));
    }
    if (query.status) q = q.where('status', '=', query.status);
    if (query.kind) q = q.where('kind', '=', query.kind);
    if (query.targetId) q = q.where('target_id', '=', query.targetId);
    if (query.organizationId) q = q.where('organization_id', '=', query.organizationId);
    if (query.since) q = q.where('created_at', '>=', query.since);
    if (query.until) q = q.where('created_at', '<', query.until);
    if (query.before) {
      const before = await this.deps.db
        .selectFrom('operations')
        .select(['created_at', 'id'])
        .where('id', '=', query.before)
        .executeTakeFirst();
      if (!before) throw new MarinaError('MARINA_E_VALIDATION', 'Unknown cursor.', { field: 'cursor' });
      // Strictly after the cursor's (created_at, id): jobs queued in the same instant are neither skipped nor repeated.
      q = q.where(sql<boolean>`(created_at, id) < (${before.created_at}, ${before.id})`);
    }
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit + 1)
      .execute();
    const page = rows.slice(0, query.limit);
    return { jobs: page.map(operationView), nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null };
  }

  /**
   * The queued and running jobs that hold a target now (oldest first): while there is one, other
   * jobs on the target are refused. A job at a step that frees its target (a backup's upload) is
   * not among them.
   */
  async holding(targetId: string): Promise<Operation[]> {
    if (!isUuid(targetId)) return [];
    const active = await this.deps.db
      .selectFrom('operations')
      .selectAll()
      .where('target_id', '=', targetId)
      .where('status', 'in', ['queued', 'running'])
      .orderBy('created_at')
      .execute();
    return active.filter(holdsTarget);
  }

  /** `holding`, as the actor may see it: the jobs of organizations they belong to. */
  async holdingVisible(actor: Actor, targetId: string): Promise<OperationView[]> {
    const visible: OperationView[] = [];
    for (const op of await this.holding(targetId)) {
      const seen = await this.requireVisible(actor, op).then(
        () => true,
        () => false,
      );
      if (seen) visible.push(operationView(op));
    }
    return visible;
  }

  async logs(actor: Actor, id: string, afterId?: string): Promise<OperationLogLine[]> {
    await this.get(actor, id);
    let q = this.deps.db.selectFrom('operation_logs').selectAll().where('operation_id', '=', id);
    if (afterId) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(5000).execute();
    return rows.map((r) => ({ id: r.id, at: r.at.toISOString(), level: r.level, message: r.message }));
  }
}
