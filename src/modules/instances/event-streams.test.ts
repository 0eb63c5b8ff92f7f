import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  STRONG_PASSWORD,
  signIn,
  type TestApp,
} from '../../../test/helpers/app.js';
import { openSse } from '../../../test/helpers/sse.js';
import { hashPassword } from '../identity/passwords.js';

/**
 * Server-Sent Events streams: a cap per user and in total (MARINA_EVENT_STREAMS_*), and a stream
 * that ends once its user loses access — session ended or expired, membership removed. Real
 * sockets (the streams are hijacked replies), real PostgreSQL; access is checked again every second.
 */
let t: TestApp;
let admin: Browser;
let baseUrl: string;
let orgId: string;
let jobId: string;

const headersOf = (who: Browser) => ({ cookie: who.cookie });

/** A user of "acme" with the given role, made directly in the database and signed in. */
async function member(email: string): Promise<Browser> {
  const user = await t.db
    .insertInto('users')
    .values({ email, name: email, password_hash: await hashPassword(STRONG_PASSWORD) })
    .returning('id')
    .executeTakeFirstOrThrow();
  await t.db.insertInto('memberships').values({ organization_id: orgId, user_id: user.id, role: 'viewer' }).execute();
  return signIn(t.app, email);
}

/** Waits until the server counts `n` open streams (a client's close reaches it a moment later). */
async function openStreams(n: number): Promise<void> {
  for (let i = 0; i < 100 && t.app.eventStreams.open !== n; i++) await new Promise((r) => setTimeout(r, 50));
  expect(t.app.eventStreams.open).toBe(n);
}

/** Opens a stream and answers its status: the body of a refusal, or nothing (a stream is dropped at once). */
async function tryOpen(who: Browser, path: string): Promise<{ status: number; body: string }> {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}${path}`, { headers: headersOf(who), signal: controller.signal });
  if (response.ok) {
    controller.abort();
    return { status: response.status, body: '' };
  }
  return { status: response.status, body: await response.text() };
}

/** Follows the job as `who` until its first event: from then on the server counts the stream. */
async function follow(who: Browser) {
  const stream = openSse(`${baseUrl}/api/v1/jobs/${jobId}/events`, headersOf(who));
  await stream.waitFor((e) => e.event === 'job');
  return stream;
}

beforeAll(async () => {
  t = await createTestApp({
    MARINA_EVENT_STREAMS_PER_USER: '2',
    MARINA_EVENT_STREAMS_TOTAL: '3',
    MARINA_EVENT_STREAMS_RECHECK_S: '1',
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const address = t.app.server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  admin = await adminBrowser(t);
  orgId = (await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' })).json().organization.id;
  // A running job of acme to follow: its stream only ends with the job, or with the user's access.
  const job = await t.db
    .insertInto('operations')
    .values({
      kind: 'instance.restart',
      organization_id: orgId,
      status: 'running',
      steps: JSON.stringify([]),
      input: JSON.stringify({}),
      actor_label: 'test',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  jobId = job.id;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('event streams', { timeout: 60_000 }, () => {
  it('caps streams per user and in total with a clear 429; a closed stream frees its place', async () => {
    const a = await follow(admin);
    const b = await follow(admin);
    const third = await tryOpen(admin, `/api/v1/jobs/${jobId}/events`);
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body).error).toMatchObject({ code: 'MARINA_E_TOO_MANY_STREAMS' });
    expect(JSON.parse(third.body).error.message).toMatch(/at most 2/);

    const mo = await member('mo@acme.test');
    const c = await follow(mo);
    const overall = await tryOpen(mo, '/api/v1/instances/events');
    expect(overall.status).toBe(429);
    expect(JSON.parse(overall.body).error.message).toMatch(/as many live streams as it can/);

    a.close();
    await openStreams(2);
    const again = await follow(admin);
    await openStreams(3);
    for (const s of [b, c, again]) s.close();
    await openStreams(0);
  });

  it('ends the stream when its session is signed out, and when it expires', async () => {
    const eve = await member('eve@acme.test');
    const stream = await follow(eve);
    expect((await as(t, eve)('POST', '/api/v1/auth/logout')).statusCode).toBe(204);
    const closed = await stream.waitFor((e) => e.event === 'closed', 5_000);
    expect(closed.data).toEqual({ reason: 'signed-out' });
    await stream.done;
    await openStreams(0);

    const ida = await member('ida@acme.test');
    const expiring = await follow(ida);
    t.clock.advanceMinutes(t.config.session.maxAgeHours * 60 + 1);
    expect((await expiring.waitFor((e) => e.event === 'closed', 5_000)).data).toEqual({ reason: 'signed-out' });
    await expiring.done;
    await openStreams(0);
    admin = await signIn(t.app, 'admin@example.com');
  });

  it('ends a job stream when the member is removed from the organization', async () => {
    const max = await member('max@acme.test');
    const stream = await follow(max);
    const removed = await as(t, admin)('DELETE', `/api/v1/organizations/acme/members/${max.userId}`);
    expect(removed.statusCode, removed.body).toBe(204);
    const closed = await stream.waitFor((e) => e.event === 'closed', 5_000);
    // Removing a member may also end their sessions: either way the stream is over.
    expect(['access', 'signed-out']).toContain((closed.data as { reason: string }).reason);
    await stream.done;
    await openStreams(0);
  });
});
