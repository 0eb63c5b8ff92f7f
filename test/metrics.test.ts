import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRuntime } from '../src/runtime/memory.js';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  type TestApp,
  withToken,
} from './helpers/app.js';
import { makeOrganization } from './helpers/factories.js';
import { insertInstanceRows, parseExposition, runInMemory } from './helpers/metrics-world.js';

/**
 * GET /metrics through the real app and database, the hosts' runtime being the in-memory STAND-IN
 * (the real engine and a real Prometheus: metrics-prometheus.test.ts). Who may scrape, what each
 * token sees, and that the output is well-formed with bounded labels only.
 */
let t: TestApp;
let admin: Browser;
let viewer: Browser;
const runtime = new MemoryRuntime();
const orgs: Record<'north' | 'south', { id: string; slug: string }> = {} as never;
const ids: Record<'north' | 'south', string[]> = { north: [], south: [] };
const tokens: Record<'platform' | 'north' | 'write' | 'read', string> = {} as never;
const NAMES = ['Zebra-Secret-Name', 'quokka private shop', 'wombat-staging'];

async function token(who: Browser, body: Record<string, unknown>): Promise<string> {
  const made = await as(t, who)('POST', '/api/v1/tokens', { name: 'scraper', ...body });
  expect(made.statusCode, made.body).toBe(201);
  return made.json<{ secret: string }>().secret;
}

const scrape = (secret: string | undefined, query = '', headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'GET',
    url: `/metrics${query}`,
    headers: { ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...headers },
  });

beforeAll(async () => {
  t = await createTestApp({}, { runtime: () => runtime });
  admin = await adminBrowser(t);
  const call = as(t, admin);
  orgs.north = await makeOrganization(call, { slug: 'north', name: 'Northern Lights Ltd' });
  orgs.south = await makeOrganization(call, { slug: 'south', name: 'Southern Cross SA' });
  viewer = await memberBrowser(t, admin, 'north', 'viewer@north.test', 'viewer');
  const north = await insertInstanceRows(t.db, orgs.north.id, [NAMES[0] as string, NAMES[1] as string], {
    project: 'secret-project',
  });
  const south = await insertInstanceRows(t.db, orgs.south.id, [NAMES[2] as string], { stage: 'staging' });
  ids.north = north.instances.map((i) => i.id);
  ids.south = south.instances.map((i) => i.id);
  await runInMemory(runtime, north.instances[0]?.containerName as string, 512 * 1024 ** 2);
  await t.services.metricsSampler.runOnce();
  tokens.platform = await token(admin, { scope: 'metrics' });
  tokens.north = await token(viewer, { scope: 'metrics', organizationId: orgs.north.id });
  tokens.write = await token(admin, { scope: 'write' });
  tokens.read = await token(admin, { scope: 'read' });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const instanceIdsIn = (text: string) =>
  new Set(
    parseExposition(text)
      .map((s) => s.labels.instance_id)
      .filter(Boolean),
  );

describe('GET /metrics: who may scrape', () => {
  it('refuses no token (401), a session and read or write tokens (403, naming the metrics scope)', async () => {
    const none = await scrape(undefined);
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('MARINA_E_UNAUTHENTICATED');
    const session = await scrape(undefined, '', { cookie: admin.cookie });
    expect(session.statusCode).toBe(403);
    expect(session.json().error.message).toMatch(/metrics scope/);
    for (const secret of [tokens.write, tokens.read]) {
      const refused = await scrape(secret);
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error).toMatchObject({ code: 'MARINA_E_TOKEN_SCOPE' });
      expect(refused.json().error.message).toMatch(/metrics scope/);
    }
    expect((await scrape(`mrn_${'x'.repeat(43)}`)).statusCode).toBe(401);
  });

  it('refuses a metrics token everywhere else, reading too', async () => {
    for (const url of ['/api/v1/me', '/api/v1/instances', `/api/v1/organizations/${orgs.north.id}`]) {
      const refused = await withToken(t, tokens.platform)('GET', url);
      expect(refused.statusCode, url).toBe(403);
      expect(refused.json().error.code).toBe('MARINA_E_TOKEN_SCOPE');
    }
  });

  it('keeps platform-wide metrics tokens for platform admins', async () => {
    const refused = await as(t, viewer)('POST', '/api/v1/tokens', { name: 'all', scope: 'metrics' });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.details).toMatchObject({ field: 'organizationId' });
  });
});

describe('GET /metrics: what each token sees', () => {
  it('gives a platform token every instance and the platform series, well-formed', async () => {
    const answer = await scrape(tokens.platform);
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(answer.body);
    expect(instanceIdsIn(answer.body)).toEqual(new Set([...ids.north, ...ids.south]));
    const names = new Set(samples.map((s) => s.name));
    for (const name of [
      'marina_instance_up',
      'marina_instance_memory_limit_bytes',
      'marina_job_queue_depth',
      'marina_host_filesystem_avail_bytes',
      'marina_host_memory_bytes',
      'marina_http_request_duration_seconds_bucket',
    ])
      expect(names, name).toContain(name);
    const running = ids.north[0];
    const value = (name: string, id = running) =>
      samples.find((s) => s.name === name && s.labels.instance_id === id)?.value;
    expect(value('marina_instance_up')).toBe(1);
    expect(value('marina_instance_memory_limit_bytes')).toBe(512 * 1024 ** 2);
    expect(value('marina_instance_up', ids.north[1])).toBe(0);
    // Unknown is absent, never 0.
    expect(value('marina_instance_memory_bytes', ids.north[1])).toBeUndefined();
    expect(value('marina_instance_database_bytes')).toBeUndefined();
  });

  it('labels only bounded ids and words, never a name anyone typed', async () => {
    const body = (await scrape(tokens.platform)).body;
    for (const typed of [...NAMES, 'secret-project', 'Northern Lights', 'Southern Cross', 'north', 'south'])
      expect(body.includes(`"${typed}`), typed).toBe(false);
    const allowed = new Set([
      'instance_id',
      'organization_id',
      'project_id',
      'stage',
      'host_id',
      'kind',
      'state',
      'status',
      'route',
      'method',
      'status_class',
      'le',
      'destination_id',
      'domain_id',
    ]);
    for (const sample of parseExposition(body))
      for (const key of Object.keys(sample.labels)) expect(allowed, `${sample.name} ${key}`).toContain(key);
  });

  it("limits an organization's token to its instances, with no platform series", async () => {
    const answer = await scrape(tokens.north);
    expect(answer.statusCode, answer.body).toBe(200);
    expect(instanceIdsIn(answer.body)).toEqual(new Set(ids.north));
    const names = parseExposition(answer.body).map((s) => s.name);
    expect(
      names.every((n) => n.startsWith('marina_instance_')),
      names.join(' '),
    ).toBe(true);
    for (const own of ['north', orgs.north.id]) {
      const same = await scrape(tokens.north, `?organization=${own}`);
      expect(same.statusCode).toBe(200);
      expect(instanceIdsIn(same.body)).toEqual(new Set(ids.north));
    }
    for (const other of ['south', orgs.south.id, randomUUID(), 'nobody']) {
      const refused = await scrape(tokens.north, `?organization=${other}`);
      expect(refused.statusCode, other).toBe(404);
      expect(refused.body).not.toContain(ids.south[0]);
    }
  });

  it('lets a platform token filter by organization id or slug', async () => {
    for (const which of ['south', orgs.south.id]) {
      const answer = await scrape(tokens.platform, `?organization=${which}`);
      expect(answer.statusCode).toBe(200);
      expect(instanceIdsIn(answer.body)).toEqual(new Set(ids.south));
      expect(answer.body).not.toContain('marina_jobs');
    }
    expect((await scrape(tokens.platform, '?organization=nobody')).statusCode).toBe(404);
    expect((await scrape(tokens.platform, '?organization=a%22b')).statusCode).toBe(400);
  });

  it('stops an organization token when its user leaves the organization', async () => {
    const leaver = await memberBrowser(t, admin, 'north', 'leaver@north.test', 'viewer');
    const secret = await token(leaver, { scope: 'metrics', organizationId: orgs.north.id });
    expect((await scrape(secret)).statusCode).toBe(200);
    await t.db.deleteFrom('memberships').where('user_id', '=', leaver.userId).execute();
    expect((await scrape(secret)).statusCode).toBe(404);
  });
});

describe('GET /metrics: platform series', () => {
  it('labels API latency by route pattern, never the raw URL', async () => {
    const missing = randomUUID();
    await as(t, admin)('GET', `/api/v1/instances/${missing}`);
    const body = (await scrape(tokens.platform)).body;
    expect(body).not.toContain(missing);
    const counts = parseExposition(body).filter((s) => s.name === 'marina_http_request_duration_seconds_count');
    expect(counts.some((s) => s.labels.route === '/api/v1/instances/:id' && s.labels.status_class === '4xx')).toBe(
      true,
    );
  });

  it('times a job when the runner announces its end', async () => {
    const started = new Date(Date.now() - 42_000).toISOString();
    const job = {
      id: randomUUID(),
      kind: 'backup.create',
      status: 'succeeded',
      startedAt: started,
      finishedAt: new Date().toISOString(),
    };
    t.services.operations.bus.publish(job as never);
    t.services.operations.bus.publish(job as never);
    const samples = parseExposition((await scrape(tokens.platform)).body);
    const count = samples.find(
      (s) => s.name === 'marina_job_duration_seconds_count' && s.labels.kind === 'backup.create',
    );
    expect(count?.value).toBe(1);
    const sum = samples.find((s) => s.name === 'marina_job_duration_seconds_sum' && s.labels.kind === 'backup.create');
    expect(sum?.value).toBeCloseTo(42, 0);
  });
});
