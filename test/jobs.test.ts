import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/platform/clock.js';
import { systemContext } from '../src/platform/context.js';
import { OperationBus, OperationService, type OperationView } from '../src/platform/jobs/operations.js';
import { type JobHandler, JobRunner } from '../src/platform/jobs/runner.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

let database: TestDatabase;
let runner: JobRunner | undefined;
let bus: OperationBus;
let operations: OperationService;

beforeEach(async () => {
  database = await createTestDatabase();
  bus = new OperationBus();
  operations = new OperationService(database.db, systemClock, bus);
});
afterEach(async () => {
  await runner?.stop();
  runner = undefined;
  await database.drop();
});

function newRunner(perHostConcurrency = 2): JobRunner {
  runner = new JobRunner({
    db: database.db,
    connectionString: database.url,
    clock: systemClock,
    bus,
    logger: pino({ level: 'silent' }),
    perHostConcurrency,
    workers: 4,
  });
  return runner;
}

const finished = (id: string) =>
  new Promise<OperationView>((resolve) => {
    const listener = (op: OperationView) => {
      if (op.status === 'succeeded' || op.status === 'failed') {
        bus.off(`op:${id}`, listener);
        resolve(op);
      }
    };
    bus.on(`op:${id}`, listener);
  });

async function submit(kind: string, hostId = 'local') {
  const op = await operations.insert(database.db, systemContext('test').actor, {
    kind,
    organizationId: null,
    hostId,
    steps: ['prepare', 'work', 'finish'],
  });
  return op;
}

describe('job runner', () => {
  it('runs the steps in order, reports progress and logs, and keeps the result', async () => {
    const seen: number[] = [];
    bus.on('op', (op: OperationView) => seen.push(op.progress));
    const r = newRunner();
    r.register({
      kind: 'test.demo',
      steps: ['prepare', 'work', 'finish'],
      run: async (job) => {
        await job.step('prepare', async () => job.log('preparing'));
        await job.step('work', async () => {
          await job.progress(50);
        });
        await job.step('finish', async () => {});
        return { answer: 42 };
      },
    });
    await r.start();
    const op = await submit('test.demo');
    const done = finished(op.id);
    await r.enqueue(op);
    const result = await done;
    expect(result).toMatchObject({ status: 'succeeded', progress: 100, result: { answer: 42 }, error: null });
    expect(result.steps.map((s) => s.status)).toEqual(['done', 'done', 'done']);
    expect(seen).toContain(50);
    expect(seen.every((p, i) => i === 0 || p >= (seen[i - 1] ?? 0))).toBe(true);
    const logs = await operations.logs(systemContext('test').actor, op.id);
    expect(logs.map((l) => l.message)).toEqual(['prepare…', 'preparing', 'work…', 'finish…', 'done']);
  });

  it('reports the failing step and undoes what the job made', async () => {
    const recovered: Record<string, unknown>[] = [];
    const r = newRunner();
    r.register({
      kind: 'test.fail',
      steps: ['prepare', 'work', 'finish'],
      run: async (job) => {
        await job.step('prepare', () => job.remember('volume', 'vol-1'));
        await job.step('work', async () => {
          throw new Error('the disk is full');
        });
        return undefined;
      },
      recover: async (op) => {
        recovered.push(op.resources);
      },
    });
    await r.start();
    const op = await submit('test.fail');
    const done = finished(op.id);
    await r.enqueue(op);
    const result = await done;
    expect(result.status).toBe('failed');
    expect(result.error).toEqual({ code: 'MARINA_E_JOB_FAILED', message: 'the disk is full', step: 'work' });
    expect(result.steps.map((s) => s.status)).toEqual(['done', 'failed', 'pending']);
    expect(recovered).toEqual([{ volume: 'vol-1' }]);
  });

  it('marks jobs interrupted by a restart as failed, says why, and undoes them', async () => {
    const op = await submit('test.demo');
    await database.db
      .updateTable('operations')
      .set({ status: 'running', step: 'work', resources: JSON.stringify({ container: 'c1' }) })
      .where('id', '=', op.id)
      .execute();
    const recovered: unknown[] = [];
    const r = newRunner();
    r.register({
      kind: 'test.demo',
      steps: ['prepare', 'work', 'finish'],
      run: async () => undefined,
      recover: async (o) => void recovered.push(o.resources),
    });
    await r.start();
    const after = await operations.get(systemContext('test').actor, op.id);
    expect(after.status).toBe('failed');
    expect(after.error).toMatchObject({ code: 'MARINA_E_INTERRUPTED', step: 'work' });
    expect(after.error?.message).toContain('Marina stopped while this job was running');
    expect(recovered).toEqual([{ container: 'c1' }]);
  });

  it('refuses two handlers for a kind, and jobs nobody handles', async () => {
    const r = newRunner();
    const handler: JobHandler = { kind: 'test.x', steps: [], run: async () => undefined };
    r.register(handler);
    expect(() => r.register(handler)).toThrow(/two handlers/);
    await r.start();
    await expect(r.enqueue(await submit('test.unknown'))).rejects.toThrow(/no handler/);
  });

  it('limits how many jobs run at once on one host', async () => {
    let running = 0;
    let peak = 0;
    const r = newRunner(1);
    r.register({
      kind: 'test.slow',
      steps: ['prepare', 'work', 'finish'],
      run: async (job) => {
        await job.step('work', async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 150));
          running--;
        });
        return undefined;
      },
    });
    await r.start();
    const ops = await Promise.all([
      submit('test.slow', 'host-a'),
      submit('test.slow', 'host-a'),
      submit('test.slow', 'host-a'),
    ]);
    const done = Promise.all(ops.map((op) => finished(op.id)));
    for (const op of ops) await r.enqueue(op);
    const results = await done;
    expect(results.every((o) => o.status === 'succeeded')).toBe(true);
    expect(peak).toBe(1);
  });
});
