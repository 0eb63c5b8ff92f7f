import pino from 'pino';
import { Type } from 'typebox';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../test/helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/db.js';
import { jobKinds } from '../../app/job-kinds.js';
import { createBackupJob, restoreJob } from '../../modules/backups/jobs/specs.js';
import { systemClock } from '../clock.js';
import { systemContext } from '../context.js';
import { defineJob, jobSpec, planJob } from './define.js';
import { OperationBus, OperationService, type OperationView } from './operations.js';
import { JobRunner } from './runner.js';

let database: TestDatabase;
let runner: JobRunner | undefined;
let bus: OperationBus;
let operations: OperationService;

beforeEach(async () => {
  database = await createTestDatabase();
  bus = new OperationBus();
  operations = new OperationService({ db: database.db, clock: systemClock, bus });
});
afterEach(async () => {
  await runner?.stop();
  runner = undefined;
  await database.drop();
});

function newRunner(perHostConcurrency = 2, kinds?: readonly string[]): JobRunner {
  runner = new JobRunner({
    kinds,
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

/** The test jobs: three steps, whatever their kind. */
const threeSteps = <const Kind extends string>(kind: Kind) =>
  jobSpec({
    kind,
    input: Type.Object({ note: Type.Optional(Type.String()) }, { additionalProperties: false }),
    plan: () => ['prepare', 'work', 'finish'],
  });

async function submit(kind: string, hostId = 'local') {
  const op = await operations.insert(database.db, systemContext('test').actor, {
    job: planJob(threeSteps(kind), {}),
    organizationId: null,
    hostId,
  });
  return op;
}

describe('job runner', () => {
  it('runs the steps in order, reports progress and logs, and keeps the result', async () => {
    const seen: number[] = [];
    bus.on('op', (op: OperationView) => seen.push(op.progress));
    const r = newRunner();
    r.register(
      defineJob({
        ...threeSteps('test.demo'),
        run: async (job) => {
          await job.step('prepare', async () => job.log('preparing'));
          await job.step('work', async () => {
            await job.progress(50);
          });
          await job.step('finish', async () => {});
          // @ts-expect-error: a step the plan cannot list does not compile.
          await expect(job.step('unplanned', async () => {})).rejects.toThrow(/undeclared step/);
          return { answer: 42 };
        },
      }),
    );
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
    const recovered: { volume?: string }[] = [];
    const r = newRunner();
    r.register(
      defineJob({
        ...threeSteps('test.fail'),
        resources: Type.Object({ volume: Type.String() }),
        run: async (job) => {
          await job.step('prepare', () => job.remember('volume', 'vol-1'));
          // @ts-expect-error: what a job remembers is typed: a volume is a name.
          if (false as boolean) await job.remember('volume', 1);
          await job.step('work', async () => {
            throw new Error('the disk is full');
          });
          return undefined;
        },
        recover: async ({ resources }) => {
          recovered.push(resources);
        },
      }),
    );
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
    r.register(
      defineJob({
        ...threeSteps('test.demo'),
        resources: Type.Object({ container: Type.String() }),
        run: async () => undefined,
        recover: async ({ resources }) => void recovered.push(resources),
      }),
    );
    await r.start();
    const after = await operations.get(systemContext('test').actor, op.id);
    expect(after.status).toBe('failed');
    expect(after.error).toMatchObject({ code: 'MARINA_E_INTERRUPTED', step: 'work' });
    expect(after.error?.message).toContain('Marina stopped while this job was running');
    expect(recovered).toEqual([{ container: 'c1' }]);
  });

  it('refuses jobs nobody defined', async () => {
    const r = newRunner();
    r.register(defineJob({ ...threeSteps('test.x'), run: async () => undefined }));
    await r.start();
    await expect(r.enqueue(await submit('test.unknown'))).rejects.toThrow(/no definition for job kind test.unknown/);
  });

  it('does not start when a kind has two definitions, none, or is unknown', async () => {
    const job = defineJob({ ...threeSteps('test.x'), run: async () => undefined });
    const twice = newRunner(2, ['test.x']);
    twice.register(job);
    twice.register(job);
    await expect(twice.start()).rejects.toThrow(/two definitions for job kind test.x/);
    const missing = newRunner(2, ['test.x', 'test.y']);
    missing.register(job);
    await expect(missing.start()).rejects.toThrow(/no definition for job kind test.y/);
    const unknown = newRunner(2, []);
    unknown.register(job);
    await expect(unknown.start()).rejects.toThrow(/unknown job kind test.x/);
    const ok = newRunner(2, ['test.x']);
    ok.register(job);
    expect(() => ok.checkDefinitions()).not.toThrow();
  });

  it("wires one definition for each of Marina's job kinds", async () => {
    expect(new Set(jobKinds).size).toBe(jobKinds.length);
    const t = await createTestApp();
    try {
      expect(t.services.runner.definedKinds()).toEqual([...jobKinds].sort());
      expect(() => t.services.runner.checkDefinitions()).not.toThrow();
    } finally {
      await t.close();
    }
  });

  it('refuses a bad input when a job is queued, and writes nothing', async () => {
    const spec = threeSteps('test.input');
    const count = async () =>
      Number(
        (
          await database.db
            .selectFrom('operations')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    // @ts-expect-error: the input's type comes from the schema.
    const bad = () => planJob(spec, { note: 42 });
    expect(bad).toThrow(/job test.input: its input does not match its schema \(\/note must be string\)/);
    expect(() =>
      planJob(createBackupJob, {
        backupId: '9b2f1d1e-6a7c-4c53-9d0a-4f1f4d3f2a10',
        destinationIds: [],
        retention: false,
        // @ts-expect-error: properties the schema does not list are refused.
        x: 1,
      }),
    ).toThrow(/backup.create/);
    expect(await count()).toBe(0);
  });

  it("takes a job's steps from its plan, in the order of today's operations", async () => {
    const backupId = '9b2f1d1e-6a7c-4c53-9d0a-4f1f4d3f2a10';
    expect(planJob(createBackupJob, { backupId, destinationIds: [], retention: false }).steps).toEqual([
      'prepare',
      'write',
      'finish',
    ]);
    expect(planJob(createBackupJob, { backupId, destinationIds: [backupId], retention: true }).steps).toEqual([
      'prepare',
      'write',
      'finish',
      'upload',
      'retention',
    ]);
    const choices = { copy: true, neutralize: true };
    expect(planJob(restoreJob, { backupId, existing: true, ...choices }).steps).toEqual([
      'verify',
      'load',
      'neutralize',
      'stop',
      'swap',
      'start',
      'health',
      'cleanup',
    ]);
    expect(planJob(restoreJob, { backupId, existing: false, copy: true, neutralize: false }).steps).toEqual([
      'verify',
      'create',
      'load',
      'swap',
      'start',
      'health',
      'cleanup',
    ]);
    const op = await operations.insert(database.db, systemContext('test').actor, {
      job: planJob(restoreJob, { backupId, existing: true, copy: false, neutralize: false }),
      organizationId: null,
      hostId: null,
    });
    expect(op.steps.map((s) => s.name)).toEqual(['verify', 'load', 'stop', 'swap', 'start', 'health', 'cleanup']);
    expect(op.input).toEqual({ backupId, existing: true, copy: false, neutralize: false });
  });

  it('limits how many jobs run at once on one host', async () => {
    let running = 0;
    let peak = 0;
    const r = newRunner(1);
    r.register(
      defineJob({
        ...threeSteps('test.slow'),
        run: async (job) => {
          await job.step('work', async () => {
            running++;
            peak = Math.max(peak, running);
            await new Promise((resolve) => setTimeout(resolve, 150));
            running--;
          });
          return undefined;
        },
      }),
    );
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
