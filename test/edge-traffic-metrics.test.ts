import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { as, type TestApp } from './helpers/app.js';
import {
  docker,
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from './helpers/docker.js';
import { type EdgeStack, edgeRequest, MANAGED_CADDY_IMAGE, startEdgeStack } from './helpers/edge-stack.js';
import { parseExposition } from './helpers/metrics-world.js';
import { freePort } from './helpers/process.js';
import { makeSelfSignedCertificate } from './helpers/test-ca.js';

/**
 * Request metrics from the edge's access log, on real parts: the managed proxy (the test image
 * marina-test/caddy, Debian's Caddy 2.6, in a container on the host's network) sends each request
 * of an instance's server to Marina's UDP listener; the Odoo STAND-IN answers on real Docker. The
 * sampler's rounds are run by hand (the timer's interval is an hour) at the test clock's time,
 * moved to a minute of its own: nothing depends on today's date.
 */

const BASE = 'apps.traffic.test';
const namespace = testNamespace();
let stack: EdgeStack;
let marina: Awaited<ReturnType<typeof startDockerMarina>>;
let t: TestApp;
let certDir: string;
let instance: { id: string; hostname: string };
let metricsToken: string;

const HEALTHY = 15;
const MISSING = 5;

async function scrape() {
  const response = await t.app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${metricsToken}` },
  });
  expect(response.statusCode, response.body).toBe(200);
  return parseExposition(response.body).filter((s) => s.labels.instance_id === instance.id);
}

const requestsOf = (series: Awaited<ReturnType<typeof scrape>>, statusClass: string) =>
  series.find((s) => s.name === 'marina_instance_http_requests_total' && s.labels.status_class === statusClass)
    ?.value ?? Number.NaN;

async function minuteRow(minute: number) {
  return t.db
    .selectFrom('metric_minutes')
    .innerJoin('metric_series', 'metric_series.id', 'metric_minutes.series')
    .select(['requests', 'p50_ms', 'p95_ms'])
    .where('metric_series.instance_id', '=', instance.id)
    .where('minute', '=', minute)
    .executeTakeFirst();
}

beforeAll(async () => {
  await requireDocker();
  await docker
    .getImage(MANAGED_CADDY_IMAGE)
    .inspect()
    .catch(() => {
      throw new Error(`The test image ${MANAGED_CADDY_IMAGE} is missing: run \`bash scripts/build-test-images.sh\`.`);
    });
  stack = await startEdgeStack({ caddy: 'managed' });
  certDir = await mkdtemp(join(tmpdir(), 'marina-edge-traffic-'));
  // The operator's wildcard for the platform names: no ACME round trip is needed here.
  const wildcard = await makeSelfSignedCertificate(certDir, 'wildcard', { names: [`*.${BASE}`], days: 2 });
  marina = await startDockerMarina(namespace, {
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    ...stack.marinaEnv(),
    MARINA_BASE_DOMAIN: BASE,
    MARINA_EDGE_DNS_PORT: '0',
    MARINA_ACME_CA: 'internal',
    MARINA_EDGE_WILDCARD_CERT: wildcard.certificatePath,
    MARINA_EDGE_WILDCARD_KEY: wildcard.keyPath,
    MARINA_PORT: String(await freePort()),
    // Rounds and uptime checks (which go through the proxy) only when this test says.
    MARINA_METRICS_INTERVAL_S: '3600',
    MARINA_UPTIME_INTERVAL_S: '3600',
  });
  t = marina.t;
  const provisioned = await provisionInstance(
    { ...marina, headers: marina.headers },
    { name: 'shop', stage: 'production' },
  );
  instance = (await as(t, marina.admin)('GET', `/api/v1/instances/${provisioned.instance.id}`)).json().instance;
  await t.services.edge.flush();
  const made = await as(t, marina.admin)('POST', '/api/v1/tokens', { name: 'scraper', scope: 'metrics' });
  expect(made.statusCode, made.body).toBe(201);
  metricsToken = made.json<{ secret: string }>().secret;
}, 300_000);

afterAll(async () => {
  await t?.close();
  await stack?.stop();
  await removeNamespace(namespace);
  if (certDir) await rm(certDir, { recursive: true, force: true });
}, 60_000);

describe("requests through the edge proxy, from Caddy's access log", () => {
  it('are counted per instance per minute, with p50/p95, and exposed on /metrics by status class', async () => {
    // The proxy logs to Marina: its loaded configuration names Marina's listener.
    const logging = (await stack.caddyConfig('logging/logs/marina_access/writer')) as { address: string };
    expect(logging.address).toMatch(/^udp\/127\.0\.0\.1:\d+$/);

    // A round takes whatever came before (provisioning); the measured minute is one of its own.
    await t.services.metricsSampler.runOnce();
    const before = await scrape();
    t.clock.advanceMinutes(2);
    const minute = Math.floor(t.clock.now().getTime() / 60_000);

    for (let i = 0; i < HEALTHY; i++) {
      const response = await edgeRequest(stack, { hostname: instance.hostname, path: '/web/health' });
      expect(response.status, response.body).toBe(200);
    }
    for (let i = 0; i < MISSING; i++) {
      const response = await edgeRequest(stack, { hostname: instance.hostname, path: `/no/such/page?i=${i}` });
      expect(response.status).toBe(404);
    }
    // A name nobody routes is the public hop's 404: no instance's request.
    expect((await edgeRequest(stack, { hostname: `nobody.${BASE}`, path: '/' })).status).toBe(404);

    // Datagrams arrive a moment after the answers: rounds of the same minute add their requests up.
    await vi.waitFor(
      async () => {
        await t.services.metricsSampler.runOnce();
        expect((await minuteRow(minute))?.requests).toBe(HEALTHY + MISSING);
      },
      { timeout: 10_000, interval: 300 },
    );
    const row = await minuteRow(minute);
    expect(row?.p50_ms).not.toBeNull();
    expect(row?.p95_ms).not.toBeNull();
    expect(row?.p50_ms ?? -1).toBeGreaterThanOrEqual(0);
    expect(row?.p50_ms ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(row?.p95_ms ?? -1);
    // The stand-in answers on loopback: well under a second, even on a busy machine.
    expect(row?.p95_ms ?? Number.POSITIVE_INFINITY).toBeLessThan(1000);

    const after = await scrape();
    expect(requestsOf(after, '2xx') - requestsOf(before, '2xx')).toBe(HEALTHY);
    expect(requestsOf(after, '4xx') - requestsOf(before, '4xx')).toBe(MISSING);
    expect(requestsOf(after, '5xx') - requestsOf(before, '5xx')).toBe(0);
    const count = (series: typeof after) =>
      series.find((s) => s.name === 'marina_instance_http_request_duration_seconds_count')?.value ?? Number.NaN;
    expect(count(after) - count(before)).toBe(HEALTHY + MISSING);

    // A minute without requests says 0 (measured), not null (unknown).
    t.clock.advanceMinutes(1);
    await t.services.metricsSampler.runOnce();
    const quiet = await minuteRow(minute + 1);
    expect(quiet).toMatchObject({ requests: 0, p50_ms: null, p95_ms: null });
  }, 60_000);
});

describe('the uptime check through the real edge proxy', () => {
  const checks = () =>
    t.db.selectFrom('uptime_checks').selectAll().where('instance_id', '=', instance.id).orderBy('at', 'desc').execute();
  const openIncident = () =>
    t.db
      .selectFrom('incidents')
      .selectAll()
      .where('instance_id', '=', instance.id)
      .where('kind', '=', 'instance_down')
      .where('resolved_at', 'is', null)
      .executeTakeFirst();
  // The uptime interval is an hour here: each round is an hour later on the test clock.
  const round = async () => {
    t.clock.advanceMinutes(60);
    await t.services.uptimeChecker.runOnce();
  };

  it('tells a proxy fault from an Odoo fault: Caddy stopped opens an incident on the proxy path only', async () => {
    await round();
    const [first] = await checks();
    expect(first).toMatchObject({ ok: true, direct: 200, proxy: 200 });

    const proxy = docker.getContainer(`${t.config.namespace}-proxy-local`);
    await proxy.stop({ t: 1 });
    try {
      for (let i = 0; i < 3; i++) await round();
      const [latest] = await checks();
      expect(latest).toMatchObject({ ok: false, direct: 200, proxy: 0 });
      const incident = await openIncident();
      expect(incident?.details).toMatchObject({ failed: 'proxy', direct: { status: 200 } });
    } finally {
      await proxy.start().catch(() => undefined);
    }
    await vi.waitFor(
      async () => {
        await round();
        await round();
        expect(await openIncident()).toBeUndefined();
      },
      { timeout: 60_000, interval: 500 },
    );
  }, 120_000);
});
