import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { as, type Browser, type TestApp } from './helpers/app.js';
import {
  docker,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from './helpers/docker.js';
import { makeOrganizationWithAdmin, makeProject, requestInstance } from './helpers/factories.js';
import { followJob } from './helpers/jobs.js';
import { freePort } from './helpers/process.js';

/**
 * A real Prometheus (Debian's package, its own binary, configuration, storage and port) scrapes a
 * Marina on the real Docker engine every second, once with a platform admin's metrics token and
 * once with an organization's; PromQL then answers the instances' memory and database size. The
 * instances are the Odoo STAND-IN: the figures are a real container's and a real PostgreSQL's.
 */
const namespace = testNamespace();
let marina: Awaited<ReturnType<typeof startDockerMarina>>;
let t: TestApp;
let prometheus: ChildProcess | undefined;
let promUrl = '';
let dir = '';
const instances: Record<'acme' | 'beta', string> = { acme: '', beta: '' };

async function instanceIn(organization: string): Promise<string> {
  const call = as(t, marina.admin);
  const project = await makeProject(call, { organization, name: `erp${organization}` });
  const created = await requestInstance(call, { project: project.id, name: 'main', memoryMb: 512 });
  const { job } = await followJob(marina.baseUrl, marina.headers, created.job.id, 180_000);
  expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
  return created.instance.id;
}

async function metricsToken(who: Browser, body: Record<string, unknown>): Promise<string> {
  const made = await as(t, who)('POST', '/api/v1/tokens', { name: 'prometheus', scope: 'metrics', ...body });
  expect(made.statusCode, made.body).toBe(201);
  return made.json<{ secret: string }>().secret;
}

async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`, {
    signal: AbortSignal.timeout(5000),
  });
  const body = (await response.json()) as { status: string; data: { result: never[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

beforeAll(async () => {
  await requireDocker();
  marina = await startDockerMarina(namespace, {
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    MARINA_METRICS_INTERVAL_S: '1',
  });
  t = marina.t;
  const beta = await makeOrganizationWithAdmin(t, marina.admin, { slug: 'beta', name: 'Beta Brewing' });
  instances.acme = await instanceIn('acme');
  instances.beta = await instanceIn('beta');

  dir = await mkdtemp(join(tmpdir(), 'marina-prometheus-'));
  // The platform admin's token sees everything; beta's own admin makes the organization's.
  await writeFile(join(dir, 'platform.token'), await metricsToken(marina.admin, {}), { mode: 0o600 });
  const betaToken = await metricsToken(beta.admin, { organizationId: beta.organization.id });
  await writeFile(join(dir, 'beta.token'), betaToken, { mode: 0o600 });
  const target = marina.baseUrl.replace('http://', '');
  const job = (name: string, token: string) =>
    [
      `  - job_name: ${name}`,
      '    metrics_path: /metrics',
      `    authorization: { credentials_file: ${join(dir, token)} }`,
      `    static_configs: [{ targets: ['${target}'] }]`,
    ].join('\n');
  await writeFile(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms }',
      'scrape_configs:',
      job('marina_platform', 'platform.token'),
      job('marina_beta', 'beta.token'),
      '',
    ].join('\n'),
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  await vi.waitFor(
    async () => {
      const ready = await fetch(`${promUrl}/-/ready`, { signal: AbortSignal.timeout(1000) });
      expect(ready.status).toBe(200);
    },
    { timeout: 30_000, interval: 250 },
  );
}, 600_000);

afterAll(async () => {
  if (prometheus?.pid) prometheus.kill('SIGTERM');
  await t?.close();
  await removeNamespace(namespace);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a real Prometheus scraping /metrics', () => {
  it("answers PromQL with the instances' memory and database size", async () => {
    for (const id of Object.values(instances)) {
      const selector = `{job="marina_platform",instance_id="${id}"}`;
      await vi.waitFor(
        async () => {
          const [memory] = await query(`marina_instance_memory_bytes${selector}`);
          const [limit] = await query(`marina_instance_memory_limit_bytes${selector}`);
          const [database] = await query(`marina_instance_database_bytes${selector}`);
          const [up] = await query(`marina_instance_up${selector}`);
          expect(Number(up?.value[1])).toBe(1);
          // A small Python process and PostgreSQL's smallest database: more than 1 MB, within limits.
          expect(Number(memory?.value[1])).toBeGreaterThan(1024 ** 2);
          expect(Number(memory?.value[1])).toBeLessThanOrEqual(Number(limit?.value[1]));
          expect(Number(limit?.value[1])).toBe(512 * 1024 ** 2);
          expect(Number(database?.value[1])).toBeGreaterThan(1024 ** 2);
          expect(Number(database?.value[1])).toBeLessThan(1024 ** 3);
        },
        { timeout: 60_000, interval: 1000 },
      );
    }
    const jobs = await query('sum(marina_jobs{job="marina_platform",state="succeeded"})');
    expect(Number(jobs[0]?.value[1])).toBeGreaterThanOrEqual(2);
    // The two provisioning jobs were timed when the runner announced their end.
    const timed = await query('sum(marina_job_duration_seconds_count{job="marina_platform",status="succeeded"})');
    expect(Number(timed[0]?.value[1])).toBeGreaterThanOrEqual(2);
    // Up to a minute of scrapes per instance: the default 30 s cut the waits short on a loaded machine.
  }, 150_000);

  it("shows an organization's token only its own instances, and no platform series", async () => {
    await vi.waitFor(
      async () => expect((await query('marina_instance_up{job="marina_beta"}')).length).toBeGreaterThan(0),
      { timeout: 30_000, interval: 1000 },
    );
    const seen = await query('{job="marina_beta",__name__=~"marina_.+"}');
    const ids = new Set(seen.map((s) => s.metric.instance_id));
    expect(ids).toEqual(new Set([instances.beta]));
    expect(seen.every((s) => s.metric.__name__?.startsWith('marina_instance_'))).toBe(true);
    // The scrape itself succeeded (the token was accepted), and the platform job sees both.
    expect(Number((await query('up{job="marina_beta"}'))[0]?.value[1])).toBe(1);
    const all = await query('marina_instance_up{job="marina_platform"}');
    expect(new Set(all.map((s) => s.metric.instance_id))).toEqual(new Set(Object.values(instances)));
  });

  it("reports an instance down, without figures, once its container is stopped behind Marina's back", async () => {
    const { container_name } = await t.services.instances.row(instances.beta);
    await docker.getContainer(container_name).stop({ t: 1 });
    const selector = `{job="marina_platform",instance_id="${instances.beta}"}`;
    await vi.waitFor(
      async () => {
        expect(Number((await query(`marina_instance_up${selector}`))[0]?.value[1])).toBe(0);
        // Absent, not 0: the last scrape carried no memory figure (PromQL looks back 5 min by default).
        expect(await query(`marina_instance_memory_bytes${selector}[3s]`)).toEqual([]);
      },
      { timeout: 30_000, interval: 1000 },
    );
    expect(
      Number((await query(`marina_instance_up{instance_id="${instances.acme}",job="marina_platform"}`))[0]?.value[1]),
    ).toBe(1);
  });
});
