import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminBrowser, as, type Browser, countRows, createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { makeOrganization, makeProject } from '../../../test/helpers/factories.js';
import { allowLocalRepositories, createTestRepository, type TestRepository } from '../../../test/helpers/git-repo.js';

/**
 * Push hooks against replays and floods: delivery ids and signed bodies remembered (then pruned),
 * and a token bucket per hook. The repository's project has no instance, so a push that gets
 * through answers "no instance follows": what these tests watch is whether it got through.
 * src/modules/code/repositories.test.ts proves that a replayed push to a followed branch starts no second job.
 */
let t: TestApp;
let admin: Browser;
let repo: TestRepository;
let hook: { url: string; secret: string };
let repositoryId: string;
const after = 'a'.repeat(40);

/** A signed GitHub push whose bytes no earlier delivery had (another "before" commit). */
function freshPush(deliveryId?: string) {
  const body = JSON.stringify({
    ref: 'refs/heads/18.0',
    before: randomBytes(20).toString('hex'),
    after,
    pusher: { name: 'ada' },
    head_commit: { id: after, message: 'a change' },
  });
  const signature = `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-hub-signature-256': signature,
  };
  if (deliveryId) headers['x-github-delivery'] = deliveryId;
  return { body, headers };
}

const post = (push: { body: string; headers: Record<string, string> }) =>
  t.app.inject({ method: 'POST', url: new URL(hook.url).pathname, headers: push.headers, payload: push.body });

beforeAll(async () => {
  t = await createTestApp({ MARINA_WEBHOOK_RATE_PER_MINUTE: '10' });
  admin = await adminBrowser(t);
  const call = as(t, admin);
  const org = await makeOrganization(call);
  await allowLocalRepositories(call, org.id);
  const project = await makeProject(call);
  repo = await createTestRepository('17.0');
  await repo.write('README.md', 'Addons of ACME\n');
  await repo.commit('First');
  await repo.push();
  const created = await call('POST', `/api/v1/projects/${project.id}/repositories`, { url: repo.url, branch: '17.0' });
  expect(created.statusCode, created.body).toBe(201);
  ({ id: repositoryId, hook } = created.json().repository);
}, 60_000);

afterAll(async () => {
  await t?.close();
  await repo?.cleanup();
});

describe('push hooks: replays and floods', { timeout: 60_000 }, () => {
  it('refuses a replay with 200 and no action: the same delivery id, or the same signed bytes under a new id', async () => {
    const push = freshPush(randomUUID());
    const first = await post(push);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().reason).toMatch(/No instance follows/);
    const jobsBefore = await countRows(t.db, 'operations');
    // 200, not an error: GitHub and GitLab retry, or disable, hooks that keep failing.
    const again = await post(push);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({
      accepted: false,
      reason: 'This delivery was already received: ignored (replay).',
      jobs: [],
    });
    // The delivery id is not signed: a captured body resent under a fresh id is the same delivery.
    const renamed = await post({ ...push, headers: { ...push.headers, 'x-github-delivery': randomUUID() } });
    expect(renamed.json().reason).toMatch(/already received/);
    // And other bytes under a delivery id already seen are a replay too (a provider's redelivery).
    const id = randomUUID();
    expect((await post(freshPush(id))).json().reason).toMatch(/No instance follows/);
    expect((await post(freshPush(id))).json().reason).toMatch(/already received/);
    expect(await countRows(t.db, 'operations')).toBe(jobsBefore);
  });

  it('rate-limits each hook: beyond its budget a 429 with Retry-After, refilled with time', async () => {
    // A minute without deliveries fills the bucket: then exactly 10 pass (MARINA_WEBHOOK_RATE_PER_MINUTE).
    t.clock.advanceMinutes(1);
    for (let i = 0; i < 10; i++) {
      const response = await post(freshPush());
      expect(response.statusCode, `${i}: ${response.body}`).toBe(200);
    }
    const limited = await post(freshPush());
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('MARINA_E_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Forgeries count too: the budget bounds the work anyone holding the URL can cause.
    const forged = freshPush();
    forged.headers['x-hub-signature-256'] = `sha256=${'0'.repeat(64)}`;
    expect((await post(forged)).statusCode).toBe(429);
    t.clock.advanceMinutes(1);
    expect((await post(freshPush())).statusCode).toBe(200);
  });

  it('forgets remembered deliveries after 30 days', async () => {
    const day = 24 * 60 * 60 * 1000;
    const remembered = (id: string) =>
      t.db.selectFrom('push_hook_deliveries').select('id').where('delivery_id', '=', id).executeTakeFirst();
    for (const [id, age] of [
      ['old-delivery', 31 * day],
      ['recent-delivery', 29 * day],
    ] as const) {
      await t.db
        .insertInto('push_hook_deliveries')
        .values({
          repository_id: repositoryId,
          provider: 'github',
          delivery_id: id,
          body_sha256: randomBytes(32).toString('hex'),
          received_at: new Date(t.clock.now().getTime() - age),
        })
        .execute();
    }
    // Pruning runs with deliveries, at most once an hour.
    t.clock.advanceMinutes(61);
    expect((await post(freshPush())).statusCode).toBe(200);
    expect(await remembered('old-delivery')).toBeUndefined();
    expect(await remembered('recent-delivery')).toBeDefined();
  });
});
