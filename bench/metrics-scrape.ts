/**
 * GET /metrics for 500 instances: the sampler's snapshot seeded with a full round (every figure
 * known, as on a busy host), then scraped over a real loopback socket with a platform admin's
 * metrics token (all 500 instances and the platform series) and an organization's (50 instances).
 * The bound: under 200 ms. No containers are needed: the scrape never samples.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { buildApp } from '../src/app/http.js';
import type { InstanceSample } from '../src/modules/metrics/sample.js';
import type { UserActor } from '../src/platform/context.js';
import { insertInstanceRows } from '../test/helpers/metrics-world.js';
import { benchLogger, benchMarina, system } from './marina.js';
import { ms, percentile, report } from './report.js';

const INSTANCES = 500;
const SCRAPES = 200;

/**
 * The scraper runs on a thread of its own, as Prometheus would be another process: the times are
 * Marina's answers, not the client's parsing on Marina's event loop. The first 10 scrapes warm up.
 */
const SCRAPER = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const times = [];
  let bytes = 0;
  for (let i = 0; i < workerData.scrapes + 10; i++) {
    const start = performance.now();
    const response = await fetch(workerData.url, { headers: { authorization: 'Bearer ' + workerData.secret } });
    const body = await response.arrayBuffer();
    if (response.status !== 200) throw new Error('/metrics answered ' + response.status);
    if (i >= 10) times.push(performance.now() - start);
    bytes = body.byteLength;
  }
  parentPort.postMessage({ times, bytes });
})();
`;

function scrapeInWorker(url: string, secret: string): Promise<{ times: number[]; bytes: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SCRAPER, { eval: true, workerData: { url, secret, scrapes: SCRAPES } });
    worker.once('message', (result: { times: number[]; bytes: number }) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

export async function metricsScrapeBench(): Promise<void> {
  const marina = await benchMarina({});
  // The bench seeds its own round; the real sampler would overwrite it with containers that do not exist.
  await marina.services.metricsSampler.stop();
  const app = await buildApp({ config: marina.config, services: marina.services, db: marina.db, logger: benchLogger });
  try {
    const { db, services } = marina;
    const bench = await db
      .selectFrom('organizations')
      .select('id')
      .where('slug', '=', 'bench')
      .executeTakeFirstOrThrow();
    const small = await services.organizations.create(system, { slug: 'small', name: 'Small' });
    const names = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    const big = await insertInstanceRows(db, bench.id, names(INSTANCES - 50, 'big'));
    const few = await insertInstanceRows(db, small.id, names(50, 'few'));
    const now = new Date();
    const rows = [
      ...big.instances.map((i) => ({ ...i, organizationId: bench.id, projectId: big.projectId })),
      ...few.instances.map((i) => ({ ...i, organizationId: small.id, projectId: few.projectId })),
    ];
    const round = rows.map(
      (r, n): InstanceSample => ({
        instanceId: r.id,
        organizationId: r.organizationId,
        projectId: r.projectId,
        stage: 'production',
        hostId: 'local',
        at: now,
        up: true,
        cpuSecondsTotal: 1234.5 + n,
        memoryBytes: 300 * 1024 ** 2 + n,
        memoryLimitBytes: 1024 ** 3,
        databaseBytes: 80 * 1024 ** 2 + n,
        filestoreBytes: 200 * 1024 ** 2 + n,
        connections: 3,
        restarts: 0,
        requests: null,
        responseP50Ms: null,
        responseP95Ms: null,
        lastBackupAt: new Date(now.getTime() - 3600_000),
      }),
    );
    await services.metricsSnapshot.record(round);
    const admin = await services.users.createPlatformAdmin(system, {
      email: 'metrics@bench.test',
      password: 'correct horse battery staple',
    });
    const actor: UserActor = {
      kind: 'user',
      userId: admin.id,
      email: 'metrics@bench.test',
      isPlatformAdmin: true,
      via: 'session',
    };
    const ctx = { actor, ip: null };
    await db
      .insertInto('memberships')
      .values({ organization_id: small.id, user_id: admin.id, role: 'admin' })
      .execute();
    const platform = (await services.tokens.create(ctx, { name: 'prometheus', scope: 'metrics' })).secret;
    const organization = (
      await services.tokens.create(ctx, { name: 'small', scope: 'metrics', organizationId: small.id })
    ).secret;
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/metrics`;
    const scrapeTimes = (secret: string) => scrapeInWorker(url, secret);
    const all = await scrapeTimes(platform);
    report(
      `/metrics, ${INSTANCES} instances, platform token`,
      `p50 ${ms(percentile(all.times, 50))}, p95 ${ms(percentile(all.times, 95))}, max ${ms(Math.max(...all.times))} (${SCRAPES} scrapes, ${Math.round(all.bytes / 1024)} KiB)`,
    );
    // The first scrape after a round encodes the round's text; the next ones copy it.
    const renders: number[] = [];
    for (let i = 0; i < 50; i++) {
      await services.metricsSnapshot.record(round);
      const start = performance.now();
      await services.metrics.render({ platform: true, organizationId: undefined, now: new Date() });
      renders.push(performance.now() - start);
    }
    report(
      '  first scrape after a round: building the body',
      `p50 ${ms(percentile(renders, 50))}, p95 ${ms(percentile(renders, 95))}`,
    );
    const one = await scrapeTimes(organization);
    report(
      '/metrics, organization token (50 of them)',
      `p50 ${ms(percentile(one.times, 50))}, p95 ${ms(percentile(one.times, 95))}, max ${ms(Math.max(...one.times))} (${Math.round(one.bytes / 1024)} KiB)`,
    );
  } finally {
    await app.close();
    await marina.close();
  }
}
