import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { TSchema } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Operation, OperationError, OperationStep } from '../../db/schema.js';
import type { Clock } from '../clock.js';
import { MarinaError } from '../errors.js';
import { controlOf, JobCancelled, type JobContext, type JobDefinition } from './define.js';
import { type OperationBus, type OperationLogLine, operationView } from './operations.js';

const QUEUE = 'marina-operations';

export type { FailedJob, JobActivity, JobContext, JobDefinition, JobMemory } from './define.js';

/** Any job definition, its types erased: what the runner keeps. */
type AnyJob = JobDefinition<string, TSchema, string, TSchema>;

export interface JobRunnerOptions {
  db: Db;
  connectionString: string;
  clock: Clock;
  bus: OperationBus;
  logger: Logger;
  /** Jobs that may run at once on one host (Docker engine). */
  perHostConcurrency: number;
  workers: number;
  /**
   * The job kinds Marina queues: each must have exactly one definition, or the runner does not
   * start. Left out (tests), any registered kinds are fine, but still once each.
   */
  kinds?: readonly string[];
}

/** Turns whatever a job threw into what users read. */
function describeFailure(error: unknown, step: string | null): OperationError {
  if (error instanceof JobCancelled) return { code: 'MARINA_E_CANCELLED', message: error.message, step };
  if (error instanceof MarinaError) return { code: error.code, message: error.message, step };
  return { code: 'MARINA_E_JOB_FAILED', message: error instanceof Error ? error.message : String(error), step };
}

class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    return () => {
      this.active--;
      this.waiting.shift()?.();
    };
  }
}

/**
 * Durable jobs: the operation row is the truth users see; pg-boss carries the work to a worker.
 * It refuses to start when a kind has no definition or two, and enqueues no kind nobody runs.
 */
export class JobRunner {
  private readonly definitions: AnyJob[] = [];
  private readonly handlers = new Map<string, AnyJob>();
  private readonly hostLimits = new Map<string, Semaphore>();
  private boss: PgBoss | undefined;
  private stopping = false;
  /** Running jobs of this process, by operation id: how to cancel one, and who did. */
  private readonly live = new Map<string, { cancelledBy?: string; cancelWait?: (by: string) => void }>();

  constructor(private readonly options: JobRunnerOptions) {}

  register(definition: AnyJob): void {
    this.definitions.push(definition);
    if (!this.handlers.has(definition.kind)) this.handlers.set(definition.kind, definition);
  }

  handlerFor(kind: string): AnyJob {
    const handler = this.handlers.get(kind);
    if (!handler) throw new Error(`no definition for job kind ${kind}`);
    return handler;
  }

  /** The kinds of the registered definitions, once per definition, sorted. */
  definedKinds(): string[] {
    return this.definitions.map((d) => d.kind).sort();
  }

  /** Every kind Marina queues has exactly one definition, and every definition is of such a kind. */
  checkDefinitions(): void {
    const counts = new Map<string, number>();
    for (const { kind } of this.definitions) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([kind]) => kind);
    const expected = this.options.kinds;
    const missing = expected?.filter((kind) => !counts.has(kind)) ?? [];
    const unknown = expected ? [...counts.keys()].filter((kind) => !expected.includes(kind)) : [];
    const problems = [
      ...(missing.length > 0 ? [`no definition for job kind ${missing.join(', ')}`] : []),
      ...(twice.length > 0 ? [`two definitions for job kind ${twice.join(', ')}`] : []),
      ...(unknown.length > 0 ? [`definitions of unknown job kind ${unknown.join(', ')}`] : []),
    ];
    if (problems.length > 0) throw new Error(`The job runner cannot start: ${problems.join('; ')}.`);
  }

  private readonly workerIds: string[] = [];

  async start(): Promise<void> {
    this.checkDefinitions();
    const { logger } = this.options;
    this.boss = new PgBoss({
      connectionString: this.options.connectionString,
      schema: 'pgboss',
      application_name: 'marina-jobs',
    });
    this.boss.on('error', (error) => logger.error({ err: error }, 'job queue error'));
    await this.boss.start();
    await this.boss.createQueue(QUEUE, { retryLimit: 0, expireInSeconds: 6 * 3600 });
    await this.recoverInterrupted();
    for (let i = 0; i < this.options.workers; i++) {
      const workerId = await this.boss.work<{ operationId: string }>(
        QUEUE,
        { batchSize: 1, pollingIntervalSeconds: 0.5 },
        async ([job]) => {
          if (job) await this.execute(job.data.operationId);
        },
      );
      this.workerIds.push(workerId);
    }
    // Operations queued while no worker ran (or whose queue message was lost) get a message again.
    const orphans = await this.options.db
      .selectFrom('operations')
      .select('id')
      .where('status', '=', 'queued')
      .execute();
    for (const { id } of orphans) await this.boss.send(QUEUE, { operationId: id }, { singletonKey: id });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const boss = this.boss;
    if (!boss) return;
    // "stopped" comes once its connections are closed too; only then may the database go away.
    const stopped = new Promise<void>((resolve) => {
      boss.once('stopped', () => resolve());
      setTimeout(resolve, 20_000).unref();
    });
    await boss.stop({ graceful: true, wait: true, timeout: 15_000 });
    await stopped;
  }

  async enqueue(operation: Operation): Promise<void> {
    this.handlerFor(operation.kind);
    if (!this.boss) throw new Error('the job runner is not started');
    await this.boss.send(QUEUE, { operationId: operation.id }, { singletonKey: operation.id });
    // This process's idle workers look at once instead of at their next poll (up to 0.5 s later).
    for (const id of this.workerIds) this.boss.notifyWorker(id);
  }

  /**
   * Jobs that were running when Marina stopped (crash, kill, power loss) cannot be resumed
   * half-way safely: they are marked failed with the reason, and their handler undoes what they made.
   */
  async recoverInterrupted(): Promise<void> {
    const { db, clock, logger } = this.options;
    const interrupted = await db.selectFrom('operations').selectAll().where('status', '=', 'running').execute();
    for (const op of interrupted) {
      const error: OperationError = {
        code: 'MARINA_E_INTERRUPTED',
        message: `Marina stopped while this job was running${op.step ? ` (step "${op.step}")` : ''}; what it had done was undone.`,
        step: op.step,
      };
      logger.warn({ operation: op.id, kind: op.kind, step: op.step }, 'marking an interrupted job as failed');
      await this.finishFailed(op, error, clock.now());
    }
  }

  /**
   * Cancels a queued job before any worker takes it: it ends `cancelled`, and its `recover` undoes
   * what queueing prepared (a backup's pending record). False when a worker took it first.
   */
  async cancelQueued(op: Operation, by: string): Promise<boolean> {
    const { db, clock } = this.options;
    const now = clock.now();
    const taken = await db
      .updateTable('operations')
      .set({ status: 'cancelled', finished_at: now })
      .where('id', '=', op.id)
      .where('status', '=', 'queued')
      .returningAll()
      .executeTakeFirst();
    if (!taken) return false;
    await this.finishFailed(
      taken,
      { code: 'MARINA_E_CANCELLED', message: `Cancelled by ${by} before it started.`, step: null },
      now,
      'cancelled',
    );
    return true;
  }

  /**
   * Cancels a running job that waits to try again (it runs in this process): its wait throws, and
   * the job ends `cancelled`. False when it is not waiting now (it is working: not safe to stop).
   */
  cancelWaiting(operationId: string, by: string): boolean {
    const running = this.live.get(operationId);
    if (!running?.cancelWait) return false;
    running.cancelledBy = by;
    running.cancelWait(by);
    return true;
  }

  private async finishFailed(
    op: Operation,
    error: OperationError,
    now: Date,
    status: 'failed' | 'cancelled' = 'failed',
  ): Promise<void> {
    const { db, bus, logger } = this.options;
    const steps = op.steps.map(
      (s): OperationStep => (s.status === 'running' ? { ...s, status: 'failed', finishedAt: now.toISOString() } : s),
    );
    const failed = await db
      .updateTable('operations')
      .set({
        status,
        error: JSON.stringify(error),
        steps: JSON.stringify(steps),
        finished_at: now,
        waiting_until: null,
        waiting_for: null,
      })
      .where('id', '=', op.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await this.appendLog(
      op.id,
      status === 'cancelled' ? 'warn' : 'error',
      `${error.step ? `${error.step}: ` : ''}${error.message}`,
    );
    const handler = this.handlers.get(op.kind);
    if (handler?.recover) {
      try {
        await handler.recover({ operation: failed, input: failed.input, resources: failed.resources }, error);
      } catch (recoverError) {
        logger.error({ err: recoverError, operation: op.id }, 'undoing a failed job failed');
        await this.appendLog(op.id, 'error', `Undoing what the job created failed: ${(recoverError as Error).message}`);
      }
    }
    bus.publish(operationView(failed));
  }

  private async appendLog(operationId: string, level: 'info' | 'warn' | 'error', message: string): Promise<void> {
    const { db, clock, bus } = this.options;
    const row = await db
      .insertInto('operation_logs')
      .values({ operation_id: operationId, at: clock.now(), level, message: message.slice(0, 10_000) })
      .returning(['id', 'at'])
      .executeTakeFirstOrThrow();
    const line: OperationLogLine = { id: row.id, at: row.at.toISOString(), level, message };
    bus.publishLog(operationId, line);
  }

  /** Runs one operation. Exported for tests that drive a job without the queue. */
  async execute(operationId: string): Promise<void> {
    const { db, clock, bus } = this.options;
    const queued = await db.selectFrom('operations').selectAll().where('id', '=', operationId).executeTakeFirst();
    if (queued?.status !== 'queued' || this.stopping) return;
    const handler = this.handlerFor(queued.kind);
    const limit = this.hostLimit(queued.host_id ?? 'none');
    const release = await limit.acquire();
    try {
      const claimed = await db
        .updateTable('operations')
        .set({ status: 'running', started_at: clock.now() })
        .where('id', '=', operationId)
        .where('status', '=', 'queued')
        .returningAll()
        .executeTakeFirst();
      if (!claimed) return;
      bus.publish(operationView(claimed));
      const live: { cancelledBy?: string; cancelWait?: (by: string) => void } = {};
      this.live.set(operationId, live);
      let op = claimed;
      let current: string | null = null;
      let resources = { ...op.resources };
      // A job's writes happen one after another, in the order it made them, even when it does not
      // wait for them (progress and log lines from a stream): progress never goes backwards.
      let writes: Promise<unknown> = Promise.resolve();
      const serially = <T>(work: () => Promise<T>): Promise<T> => {
        const next = writes.then(work, work);
        writes = next.catch(() => undefined);
        return next;
      };
      const save = (changes: { steps?: OperationStep[]; progress?: number; step?: string | null }) =>
        serially(() => persist(changes));
      const persist = async (changes: { steps?: OperationStep[]; progress?: number; step?: string | null }) => {
        op = await db
          .updateTable('operations')
          .set({
            ...(changes.steps ? { steps: JSON.stringify(changes.steps) } : {}),
            ...(changes.progress !== undefined
              ? { progress: Math.max(0, Math.min(100, Math.round(changes.progress))) }
              : {}),
            ...(changes.step !== undefined ? { step: changes.step } : {}),
          })
          .where('id', '=', operationId)
          .returningAll()
          .executeTakeFirstOrThrow();
        bus.publish(operationView(op));
      };
      const persistWait = async (changes: { waiting_until: Date | null; waiting_for: string | null }) => {
        op = await db
          .updateTable('operations')
          .set(changes)
          .where('id', '=', operationId)
          .returningAll()
          .executeTakeFirstOrThrow();
        bus.publish(operationView(op));
      };
      const total = Math.max(1, op.steps.length);
      const context: JobContext<unknown, string, Record<string, unknown>> = {
        operation: op,
        input: op.input,
        step: async (name, work) => {
          const index = op.steps.findIndex((s) => s.name === name);
          if (index < 0) throw new Error(`job ${op.kind} ran an undeclared step "${name}"`);
          current = name;
          const started = op.steps.map(
            (s, i): OperationStep =>
              i === index ? { ...s, status: 'running', startedAt: clock.now().toISOString() } : s,
          );
          await save({ steps: started, step: name, progress: (index / total) * 100 });
          await serially(() => this.appendLog(operationId, 'info', `${name}…`));
          const value = await work();
          const done = op.steps.map(
            (s, i): OperationStep =>
              i === index ? { ...s, status: 'done', finishedAt: clock.now().toISOString() } : s,
          );
          await save({ steps: done, progress: ((index + 1) / total) * 100 });
          return value;
        },
        skip: async (name, reason) => {
          const index = op.steps.findIndex((s) => s.name === name);
          if (index < 0) throw new Error(`job ${op.kind} skipped an undeclared step "${name}"`);
          const now = clock.now().toISOString();
          const skipped = op.steps.map(
            (s, i): OperationStep => (i === index ? { ...s, status: 'skipped', startedAt: now, finishedAt: now } : s),
          );
          await save({ steps: skipped, progress: ((index + 1) / total) * 100 });
          await serially(() => this.appendLog(operationId, 'info', `${name}: skipped (${reason})`));
        },
        progress: (percent) => {
          const index = op.steps.findIndex((s) => s.name === current);
          if (index < 0) return Promise.resolve();
          const value = ((index + Math.max(0, Math.min(100, percent)) / 100) / total) * 100;
          return serially(async () => {
            if (Math.round(value) > op.progress) await persist({ progress: value });
          });
        },
        log: (message, level = 'info') => serially(() => this.appendLog(operationId, level, message)),
        wait: async (ms, reason) => {
          if (live.cancelledBy) throw new JobCancelled(live.cancelledBy);
          if (controlOf(op.kind).cancel !== 'waiting') {
            await new Promise((resolve) => setTimeout(resolve, ms));
            return;
          }
          let timer: NodeJS.Timeout | undefined;
          // Cancellable from the moment the wait begins, before the row says so: no cancel falls between.
          const waited = new Promise<void>((resolve, reject) => {
            timer = setTimeout(resolve, ms);
            live.cancelWait = (by) => reject(new JobCancelled(by));
          });
          waited.catch(() => undefined);
          try {
            await serially(() =>
              persistWait({ waiting_until: new Date(clock.now().getTime() + ms), waiting_for: reason.slice(0, 500) }),
            );
            await waited;
          } finally {
            clearTimeout(timer);
            live.cancelWait = undefined;
            await serially(() => persistWait({ waiting_until: null, waiting_for: null }));
          }
        },
        remember: (key, value) =>
          serially(async () => {
            resources = { ...resources, [key]: value };
            op = await db
              .updateTable('operations')
              .set({ resources: JSON.stringify(resources) })
              .where('id', '=', operationId)
              .returningAll()
              .executeTakeFirstOrThrow();
          }),
        resources: () => resources,
      };
      try {
        const result = await handler.run(context);
        await writes;
        const finished = await db
          .updateTable('operations')
          .set({
            status: 'succeeded',
            progress: 100,
            step: null,
            result: JSON.stringify(result ?? {}),
            finished_at: clock.now(),
          })
          .where('id', '=', operationId)
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.appendLog(operationId, 'info', 'done');
        bus.publish(operationView(finished));
      } catch (error) {
        await writes;
        // A cancelled job may have wrapped the cancellation: the user's cancel is what ended it.
        const cancelled = live.cancelledBy !== undefined;
        await this.finishFailed(
          op,
          cancelled
            ? describeFailure(new JobCancelled(live.cancelledBy ?? ''), current)
            : describeFailure(error, current),
          clock.now(),
          cancelled ? 'cancelled' : 'failed',
        );
      }
    } finally {
      this.live.delete(operationId);
      release();
    }
  }

  private hostLimit(hostId: string): Semaphore {
    let limit = this.hostLimits.get(hostId);
    if (!limit) {
      limit = new Semaphore(this.options.perHostConcurrency);
      this.hostLimits.set(hostId, limit);
    }
    return limit;
  }
}
