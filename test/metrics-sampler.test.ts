import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstanceSample, SampleSink } from '../src/modules/metrics/sample.js';
import { MetricsSampler } from '../src/modules/metrics/sampler.js';
import { MemoryRuntime } from '../src/runtime/memory.js';
import type { WorkloadSample } from '../src/runtime/port.js';
import { adminBrowser, as, createTestApp, type TestApp } from './helpers/app.js';
import { makeOrganization } from './helpers/factories.js';
import { insertInstanceRows, runInMemory } from './helpers/metrics-world.js';

/**
 * The sampler against Marina's real database, hosts being in-memory runtimes (STAND-INS): one that
 * answers, one whose engine never answers a stats request, one that cannot be reached. The round
 * ends on time with nulls for the hung and unreachable hosts' instances, and rounds never overlap.
 */
class HungRuntime extends MemoryRuntime {
  override sample(): Promise<WorkloadSample | undefined> {
    return new Promise(() => undefined);
  }
}

const healthy = new MemoryRuntime();
const hung = new HungRuntime();
const down = new MemoryRuntime();
down.unreachable = 'ECONNREFUSED';
let t: TestApp;
const ids: Record<'healthy' | 'hung' | 'down' | 'noServer', string> = {} as never;

beforeAll(async () => {
  t = await createTestApp(
    {},
    { runtime: (address) => (address.includes('hung') ? hung : address.includes('down') ? down : healthy) },
  );
  const admin = await adminBrowser(t);
  const org = await makeOrganization(as(t, admin), { slug: 'sampled' });
  for (const id of ['hung', 'down'])
    await t.db
      .insertInto('hosts')
      .values({ id, name: id, docker_host: `tcp://${id}.invalid:2375` })
      .execute();
  const { instances } = await insertInstanceRows(t.db, org.id, ['a', 'b', 'c', 'd']);
  const [a, b, c, d] = instances;
  if (!a || !b || !c || !d) throw new Error('rows');
  await runInMemory(healthy, a.containerName, 256 * 1024 ** 2);
  await runInMemory(hung, b.containerName, 256 * 1024 ** 2);
  await t.db.updateTable('instances').set({ host_id: 'hung' }).where('id', '=', b.id).execute();
  await t.db.updateTable('instances').set({ host_id: 'down' }).where('id', '=', c.id).execute();
  // A database server that does not exist: its instances get no database figures, the rest still do.
  const server = randomUUID();
  await t.db
    .insertInto('database_servers')
    .values({
      id: server,
      name: 'gone',
      kind: 'external',
      host_id: null,
      internal_host: '127.0.0.1',
      internal_port: 1,
      superuser: 'postgres',
      superuser_password: 'sealed',
      external_url: 'sealed',
    })
    .execute();
  await t.db.updateTable('instances').set({ database_server_id: server }).where('id', '=', d.id).execute();
  Object.assign(ids, { healthy: a.id, hung: b.id, down: c.id, noServer: d.id });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const sampler = (sinks: SampleSink[], intervalMs = 60_000) =>
  new MetricsSampler({
    db: t.db,
    clock: t.clock,
    logger: pino({ level: 'silent' }),
    hosts: t.services.hosts,
    databaseServers: t.services.databaseServers,
    sinks,
    intervalMs,
    timeoutMs: 400,
  });

describe('the metrics sampler', () => {
  it('ends a round on time, with nulls for a hung or unreachable host', async () => {
    const started = Date.now();
    const samples = await sampler([]).sample();
    expect(Date.now() - started).toBeLessThan(3000);
    const of = (id: string) => samples.find((s) => s.instanceId === id);
    expect(of(ids.healthy)).toMatchObject({ up: true, memoryLimitBytes: 256 * 1024 ** 2, restarts: 0 });
    for (const id of [ids.hung, ids.down])
      expect(of(id)).toMatchObject({ up: false, cpuSecondsTotal: null, memoryBytes: null, restarts: null });
    expect(of(ids.noServer)).toMatchObject({ databaseBytes: null, connections: null });
    expect(samples.every((s) => s.requests === null && s.lastBackupAt === null)).toBe(true);
  });

  it('never runs two rounds at once, and hands each round to every sink', async () => {
    let active = 0;
    let most = 0;
    const rounds: (readonly InstanceSample[])[] = [];
    const slowSink: SampleSink = {
      async record(samples) {
        active++;
        most = Math.max(most, active);
        await new Promise((resolve) => setTimeout(resolve, 150));
        rounds.push(samples);
        active--;
      },
    };
    const failing: SampleSink = {
      record: async () => {
        throw new Error('this sink is broken');
      },
    };
    const running = sampler([slowSink, failing], 50);
    running.start();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await running.stop();
    expect(most).toBe(1);
    expect(rounds.length).toBeGreaterThanOrEqual(2);
    expect(rounds.every((r) => r.length === 4)).toBe(true);
  });
});
