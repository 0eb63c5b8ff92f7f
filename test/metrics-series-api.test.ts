import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../src/modules/metrics/series-rows.js';
import { MemoryRuntime } from '../src/runtime/memory.js';
import { adminBrowser, as, type Browser, createTestApp, memberBrowser, type TestApp } from './helpers/app.js';
import { makeOrganizationWithAdmin } from './helpers/factories.js';
import { insertInstances, sample } from './helpers/series-seed.js';

/**
 * The charts' API: an instance's series over 24 h (minutes) and 7 d / 30 d (hours), an
 * organization's storage against its quota; the range checked strictly; who may read them.
 */
let t: TestApp;
const people = {} as Record<'platform' | 'admin' | 'viewer' | 'outsider', Browser>;
let organizationId = '';
let instanceId = '';
let emptyInstanceId = '';
let sampledInstanceId = '';

beforeAll(async () => {
  t = await createTestApp({}, { runtime: () => new MemoryRuntime({ images: [] }) });
  people.platform = await adminBrowser(t);
  const acme = await makeOrganizationWithAdmin(t, people.platform, { slug: 'acme' });
  people.admin = acme.admin;
  people.viewer = await memberBrowser(t, people.platform, 'acme', 'viewer@acme.test', 'viewer');
  people.outsider = (await makeOrganizationWithAdmin(t, people.platform, { slug: 'globex' })).admin;
  organizationId = acme.organization.id;
  const seeded = await insertInstances(t.db, 2, { organizationId });
  [instanceId, emptyInstanceId] = seeded.instanceIds as [string, string];
  sampledInstanceId = (await insertInstances(t.db, 1, { organizationId, prefix: 'sampled' })).instanceIds[0] ?? '';
  // Three days of a sample every 10 minutes, rolled up as the ticker does, then "now" moves on.
  const now = t.clock.now().getTime();
  const start = Math.floor(now / HOUR_MS) * HOUR_MS - 72 * HOUR_MS;
  const samples = [];
  for (let at = start, i = 0; at < now; at += 10 * MINUTE_MS, i++) {
    samples.push(sample(instanceId, organizationId, new Date(at), { cpuSecondsTotal: i * 60, requests: 20 }));
  }
  await t.services.seriesStore.record(samples);
  await t.services.seriesStore.tick();
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('GET /instances/:id/series', () => {
  it('answers 24 h from minute rows as aligned arrays, and 7 d / 30 d from hourly rows', async () => {
    const day = await as(t, people.admin)('GET', `/api/v1/instances/${instanceId}/series?range=24h`);
    expect(day.statusCode, day.body).toBe(200);
    const d = day.json();
    expect(d.step).toBe(60);
    expect(d.to - d.from).toBe(24 * 3600);
    // A sample every 10 minutes: 144 in a day (give or take the minute now falls in).
    expect(d.t.length).toBeGreaterThanOrEqual(143);
    expect(d.t.length).toBeLessThanOrEqual(145);
    for (const key of ['cpu', 'memory', 'memoryLimit', 'requests', 'p50', 'p95', 'database', 'filestore']) {
      expect(d[key], key).toHaveLength(d.t.length);
    }
    expect(d.t.every((s: number) => s > d.from && s <= d.to && s % 60 === 0)).toBe(true);
    // 60 CPU-seconds every 600 s: a tenth of a core.
    expect(d.cpu.at(-1)).toBe(100);
    expect(d.memory.at(-1)).toBe(300 * 1024 * 1024);
    expect(d.memoryLimit.at(-1)).toBe(1024 * 1024 * 1024);
    expect([d.requests.at(-1), d.p50.at(-1), d.p95.at(-1), d.database.at(-1), d.filestore.at(-1)]).toEqual([
      20, 80, 400, 40_000_000, 5_000_000,
    ]);
    expect([d.cpuMax, d.memoryMax]).toEqual([null, null]);

    const week = (await as(t, people.admin)('GET', `/api/v1/instances/${instanceId}/series?range=7d`)).json();
    expect(week.step).toBe(3600);
    // 72 hours were sampled; the current one and the one just ended are not rolled up yet (or are).
    expect(week.t.length).toBeGreaterThanOrEqual(70);
    expect(week.t.length).toBeLessThanOrEqual(72);
    expect(week.t.every((s: number) => s % 3600 === 0)).toBe(true);
    expect(week.cpuMax).toHaveLength(week.t.length);
    // 20 requests per sample, 6 samples an hour: 20 per sampled minute.
    expect(week.requests.at(-1)).toBe(20);
    expect(week.cpu.at(-1)).toBe(100);
    const month = (await as(t, people.admin)('GET', `/api/v1/instances/${instanceId}/series?range=30d`)).json();
    expect(month.t).toEqual(week.t);
    expect(month.to - month.from).toBe(30 * 24 * 3600);
    // Without a range: 24 h.
    const plain = (await as(t, people.viewer)('GET', `/api/v1/instances/${instanceId}/series`)).json();
    expect(plain.range).toBe('24h');
  });

  it('answers empty arrays for an instance not sampled yet', async () => {
    const answer = await as(t, people.viewer)('GET', `/api/v1/instances/${emptyInstanceId}/series?range=30d`);
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json()).toMatchObject({ range: '30d', t: [], cpu: [], cpuMax: [], database: [] });
  });

  it('refuses a range that is not 24h, 7d or 30d, and any other parameter', async () => {
    for (const query of ['range=1y', 'range=24H', 'range=', 'range=24h&range=7d', 'range=7d&limit=5', 'range=%2724h']) {
      const answer = await as(t, people.admin)('GET', `/api/v1/instances/${instanceId}/series?${query}`);
      expect(answer.statusCode, `${query}: ${answer.body}`).toBe(400);
      expect(answer.json().error.code).toBe('MARINA_E_VALIDATION');
    }
    const storage = await as(t, people.admin)(
      'GET',
      `/api/v1/organizations/${organizationId}/storage-series?range=90d`,
    );
    expect(storage.statusCode).toBe(400);
  });

  it("is readable by the instance's viewers and by nobody outside: another organization's admin gets 404", async () => {
    for (const who of ['platform', 'admin', 'viewer'] as const) {
      const answer = await as(t, people[who])('GET', `/api/v1/instances/${instanceId}/series?range=7d`);
      expect(answer.statusCode, who).toBe(200);
    }
    for (const url of [
      `/api/v1/instances/${instanceId}/series?range=24h`,
      `/api/v1/organizations/${organizationId}/storage-series?range=30d`,
      '/api/v1/instances/00000000-0000-4000-8000-000000000000/series',
    ]) {
      const answer = await as(t, people.outsider)('GET', url);
      expect(answer.statusCode, url).toBe(404);
      expect(answer.json().error.code).toBe('MARINA_E_NOT_FOUND');
    }
    const anonymous = await t.app.inject({ method: 'GET', url: `/api/v1/instances/${instanceId}/series` });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('the wiring', () => {
  it("stores the sampler's rounds: the series store is one of its sinks", async () => {
    await t.services.metricsSampler.runOnce();
    const answer = await as(t, people.admin)('GET', `/api/v1/instances/${sampledInstanceId}/series?range=24h`);
    expect(answer.statusCode, answer.body).toBe(200);
    // A stopped instance (no container here): a point whose figures are unknown, not made-up zeros.
    const s = answer.json();
    expect(s.t).toHaveLength(1);
    expect([s.cpu[0], s.memory[0], s.requests[0]]).toEqual([null, null, null]);
  });
});

describe('GET /organizations/:id/storage-series', () => {
  it("answers the organization's storage per hour against its quota, to any member", async () => {
    const answer = await as(t, people.viewer)('GET', `/api/v1/organizations/${organizationId}/storage-series?range=7d`);
    expect(answer.statusCode, answer.body).toBe(200);
    const s = answer.json();
    expect(s.step).toBe(3600);
    expect(s.t.length).toBeGreaterThanOrEqual(70);
    expect(s.storage).toHaveLength(s.t.length);
    // One instance sampled: its database and filestore. No subscription: no quota.
    expect(s.storage.at(-1)).toBe(45_000_000);
    expect(s.quota.every((q: number | null) => q === null)).toBe(true);
    const day = (
      await as(t, people.admin)('GET', `/api/v1/organizations/${organizationId}/storage-series?range=24h`)
    ).json();
    expect(day.t.length).toBeGreaterThanOrEqual(22);
    expect(day.t.length).toBeLessThanOrEqual(24);
  });
});
