/**
 * What watching costs (issue #15): 200 running containers on the real Docker engine (small
 * `sleep` containers named as Marina's instances: the sampler's work per container is the same
 * whatever runs inside), sampled and stored round after round. Reported: each round's wall time and
 * CPU (Marina's process, and dockerd + containerd, which compute the stats), as a share of one core
 * at the default MARINA_METRICS_INTERVAL_S of 60 s; and the API's latency from another thread with
 * and without rounds running back to back (the worst case: a round every moment, not every minute).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { buildApp } from '../src/app/http.js';
import type { UserActor } from '../src/platform/context.js';
import { insertInstanceRows } from '../test/helpers/metrics-world.js';
import { benchLogger, benchMarina, hasTestImages } from './marina.js';
import { ms, percentile, report } from './report.js';

const run = promisify(execFile);
const INSTANCES = 200;
const ROUNDS = 6;
const LOAD_SECONDS = 60;
const TICKS = 100; // clock ticks per second (USER_HZ) in /proc/<pid>/stat

async function pidsOf(names: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (names.includes(comm.trim())) pids.push(Number(entry));
  }
  return pids;
}

/** CPU seconds used so far by these processes (user + system). */
async function cpuSeconds(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(fields[11]) + Number(fields[12])) / TICKS;
  }
  return total;
}

const ownCpuSeconds = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1e6;
};

const LOADER = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const times = [];
  const end = Date.now() + workerData.seconds * 1000;
  let n = 0;
  const lane = async () => {
    while (Date.now() < end) {
      const path = n++ % 2 === 0 ? workerData.list : workerData.one[n % workerData.one.length];
      const at = Date.now();
      const start = performance.now();
      const response = await fetch(workerData.base + path, { headers: { authorization: 'Bearer ' + workerData.secret } });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(path + ' answered ' + response.status);
      times.push([at, performance.now() - start]);
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  parentPort.postMessage(times);
})();
`;

/** Each request's start (epoch ms) and duration (ms). */
function load(workerData: Record<string, unknown>): Promise<[number, number][]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOADER, { eval: true, workerData });
    worker.once('message', (times: [number, number][]) => {
      resolve(times);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

export async function metricsCostBench(): Promise<void> {
  if (!(await hasTestImages())) {
    report('metrics cost', 'skipped: the test images are not built (scripts/build-test-images.sh)');
    return;
  }
  const marina = await benchMarina({});
  // The bench runs its own rounds; the ticker's would overlap them.
  await marina.services.metricsSampler.stop();
  const app = await buildApp({ config: marina.config, services: marina.services, db: marina.db, logger: benchLogger });
  const containers: string[] = [];
  try {
    const { db, services } = marina;
    const org = await db.selectFrom('organizations').select('id').where('slug', '=', 'bench').executeTakeFirstOrThrow();
    const names = Array.from({ length: INSTANCES }, (_, i) => `w${i}`);
    const world = await insertInstanceRows(db, org.id, names);
    const started = performance.now();
    const queue = [...world.instances];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          containers.push(next.containerName);
          await run('docker', [
            'run',
            '-d',
            '--name',
            next.containerName,
            '--label',
            `marina.bench=${marina.namespace}`,
            '--memory',
            '64m',
            '--network',
            'none',
            'marina-test/debian:bookworm',
            'sleep',
            'infinity',
          ]);
        }
      }),
    );
    report(
      `metrics cost: ${INSTANCES} running containers started`,
      `${((performance.now() - started) / 1000).toFixed(0)} s`,
    );

    const docker = await pidsOf(['dockerd', 'containerd']);
    const walls: number[] = [];
    const own: number[] = [];
    const engine: number[] = [];
    let sampled = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const minute = Math.floor(Date.now() / 60_000);
      const [cpu0, eng0, t0] = [ownCpuSeconds(), await cpuSeconds(docker), performance.now()];
      await services.metricsSampler.runOnce();
      const [cpu1, eng1, t1] = [ownCpuSeconds(), await cpuSeconds(docker), performance.now()];
      if (i === 0) continue; // the first round warms caches and connections
      walls.push(t1 - t0);
      own.push(cpu1 - cpu0);
      engine.push(eng1 - eng0);
      // Every instance must have figures: a round cut short by its deadline would look cheap.
      const known = await db
        .selectFrom('metric_minutes')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('minute', '=', minute)
        .where('memory_kib', 'is not', null)
        .executeTakeFirstOrThrow();
      sampled = i === 1 ? Number(known.n) : Math.min(sampled, Number(known.n));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    report(
      `metrics cost: one round of ${INSTANCES} instances (sample + store), mean of ${walls.length}`,
      `${ms(mean(walls))} wall, Marina ${(mean(own) * 1000).toFixed(0)} ms CPU, dockerd + containerd ${(mean(engine) * 1000).toFixed(0)} ms CPU (figures for ${sampled} of ${INSTANCES} in the worst round)`,
    );
    report(
      '  as a share of one core at one round a minute',
      `Marina ${((mean(own) / 60) * 100).toFixed(2)} %, with the engine ${(((mean(own) + mean(engine)) / 60) * 100).toFixed(2)} % (bound: 5 %)`,
    );

    const admin = await services.users.createPlatformAdmin(
      { actor: { kind: 'system', label: 'bench' }, ip: null },
      {
        email: 'cost@bench.test',
        password: 'correct horse battery staple',
      },
    );
    const actor: UserActor = {
      kind: 'user',
      userId: admin.id,
      email: 'cost@bench.test',
      isPlatformAdmin: true,
      via: 'session',
    };
    const secret = (await services.tokens.create({ actor, ip: null }, { name: 'load' })).secret;
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const work = {
      base,
      secret,
      seconds: LOAD_SECONDS,
      list: `/api/v1/instances?project=${world.projectId}`,
      one: world.instances.slice(0, 50).map((i) => `/api/v1/instances/${i.id}`),
    };
    const quiet = await load({ ...work, seconds: 20 });
    // A minute of load with a round at 10 s and at 40 s: twice the default cadence.
    const windows: [number, number][] = [];
    const rounds = (async () => {
      for (const at of [10_000, 30_000]) {
        await new Promise((resolve) => setTimeout(resolve, at));
        const from = Date.now();
        await services.metricsSampler.runOnce();
        windows.push([from, Date.now()]);
      }
    })();
    const sampling = await load(work);
    await rounds;
    const during = sampling.filter(([at, took]) => windows.some(([a, b]) => at + took >= a && at <= b));
    const line = (times: [number, number][]) => {
      const took = times.map(([, t]) => t);
      return `p50 ${ms(percentile(took, 50))}, p95 ${ms(percentile(took, 95))} (${took.length} requests, 4 at a time)`;
    };
    report('API (instance list of 200 and single instances) without sampling', line(quiet));
    report('API over a minute with two rounds (bound: p95 under 50 ms)', line(sampling));
    report('  only the requests that overlapped a round', line(during));
  } finally {
    await app.close();
    for (let i = 0; i < containers.length; i += 50)
      await run('docker', ['rm', '-f', ...containers.slice(i, i + 50)]).catch(() => undefined);
    await marina.close();
  }
}
