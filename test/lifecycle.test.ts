import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJob } from '../src/modules/instances/job-specs.js';
import { DAY_MS } from '../src/modules/lifecycle/machine.js';
import { systemContext } from '../src/platform/context.js';
import { planJob } from '../src/platform/jobs/define.js';
import { adminBrowser, as, createTestApp, memberBrowser, restartTestApp, signIn, type TestApp } from './helpers/app.js';
import {
  docker,
  randomPortRange,
  removeNamespace,
  requireDocker,
  TEST_IMAGES,
  testNamespace,
} from './helpers/docker.js';
import { edgeRequest } from './helpers/edge-client.js';
import { type EdgeStack, startEdgeStack } from './helpers/edge-stack.js';
import { makeProject } from './helpers/factories.js';
import { freePort } from './helpers/process.js';
import { type SmtpCapture, startSmtpCapture, textPart } from './helpers/smtp-capture.js';
import { makeSelfSignedCertificate } from './helpers/test-ca.js';

/**
 * A trial on the test clock, on real parts: Caddy (the edge stack's), real Docker running the Odoo
 * stand-in, real PostgreSQL, the outbox sending to a capturing SMTP server. The clock is moved by
 * hand and the ticker's `tick()` called directly; Marina is restarted between steps (new services
 * and app on the same database and clock), which must change nothing: no mail twice, no step missed.
 */

const BASE = 'apps.test';
const PUBLIC_URL = 'https://marina.hosting.test';
const ADMIN = 'admin@example.com';
const OWNER = 'owner@acme.test';
const namespace = testNamespace();
let stack: EdgeStack;
let smtp: SmtpCapture;
let t: TestApp;
let port: number;
let certDir: string;
let backupsDir: string;

async function restart(): Promise<void> {
  t = await restartTestApp(t);
  await t.services.startBackground();
  await t.app.listen({ host: '127.0.0.1', port });
}

/** A platform admin's calls, signed in again (the clock moves past sessions' lifetimes). */
async function admin() {
  return as(t, await signIn(t.app, ADMIN));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function instanceStatus(id: string): Promise<string | null> {
  const row = await t.db.selectFrom('instances').select('status').where('id', '=', id).executeTakeFirst();
  return row?.status ?? null;
}

/** Until the job has ended (the instance is no longer held); it must have succeeded. */
async function waitForJob(id: string): Promise<void> {
  const status = await waitFor(`job ${id}`, async () => {
    const op = await t.db.selectFrom('operations').select('status').where('id', '=', id).executeTakeFirstOrThrow();
    return ['queued', 'running'].includes(op.status) ? undefined : op.status;
  });
  expect(status).toBe('succeeded');
}

const waitForStatus = (id: string, status: string | null) =>
  waitFor(`instance ${id} ${status ?? 'gone'}`, async () => ((await instanceStatus(id)) === status ? true : undefined));

/** Lifecycle mail to the owner, by subject (after the outbox drained). */
async function ownerMail(): Promise<string[]> {
  await t.services.notices.drain();
  return smtp.messages
    .filter((m) => m.to.includes(OWNER) && /trial|suspended|active again|deleted/.test(m.subject))
    .map((m) => m.subject);
}

async function subscription(orgId: string) {
  return t.db.selectFrom('subscriptions').selectAll().where('organization_id', '=', orgId).executeTakeFirstOrThrow();
}

async function site(hostname: string) {
  await t.services.edge.flush();
  return edgeRequest(stack, { hostname, path: '/web/standin/echo', timeoutMs: 30_000 });
}

beforeAll(async () => {
  await requireDocker();
  stack = await startEdgeStack();
  smtp = await startSmtpCapture();
  certDir = await mkdtemp(join(tmpdir(), 'marina-lifecycle-wildcard-'));
  backupsDir = await mkdtemp(join(tmpdir(), 'marina-lifecycle-backups-'));
  const wildcard = await makeSelfSignedCertificate(certDir, 'wildcard', { names: [`*.${BASE}`], days: 2 });
  port = await freePort();
  t = await createTestApp({
    MARINA_NAMESPACE: namespace,
    MARINA_POSTGRES_IMAGE: TEST_IMAGES.postgres,
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    MARINA_INSTANCE_BIND: '127.0.0.1',
    MARINA_INSTANCE_PORTS: randomPortRange(),
    MARINA_BACKUPS_DIR: backupsDir,
    ...stack.marinaEnv(),
    MARINA_HOST: '127.0.0.1',
    MARINA_PORT: String(port),
    MARINA_PUBLIC_URL: PUBLIC_URL,
    MARINA_BASE_DOMAIN: BASE,
    MARINA_ACME_CA: 'internal',
    MARINA_EDGE_WILDCARD_CERT: wildcard.certificatePath,
    MARINA_EDGE_WILDCARD_KEY: wildcard.keyPath,
    // The test ticks by hand; the timer's own first tick at start-up is one more restart-like tick.
    MARINA_LIFECYCLE_INTERVAL_S: '3600',
  });
  await t.services.startBackground();
  await t.app.listen({ host: '127.0.0.1', port });
  await adminBrowser(t, ADMIN);
  await t.services.settings.setSmtp(systemContext('test'), {
    host: '127.0.0.1',
    port: smtp.port,
    security: 'none',
    from: 'Marina <marina@hosting.test>',
    username: null,
    password: null,
  });
}, 300_000);

afterAll(async () => {
  await t?.close();
  await smtp?.stop();
  await stack?.stop();
  await removeNamespace(namespace);
  if (certDir) await rm(certDir, { recursive: true, force: true });
  if (backupsDir) await rm(backupsDir, { recursive: true, force: true });
});

describe('a trial on the test clock', () => {
  it('reminds at 7, 3 and 1 days once each, suspends at the end, resumes, and cancels at grace end', async () => {
    let call = await admin();
    const org = (await call('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' })).json<{
      organization: { id: string };
    }>().organization;
    await memberBrowser(t, await signIn(t.app, ADMIN), 'acme', OWNER, 'owner');
    const project = await makeProject(call, { name: 'erp', odooVersion: '17.0' });
    const made = await call('POST', '/api/v1/instances', {
      project: project.id,
      name: 'main',
      stage: 'development',
      memoryMb: 768,
      adminLogin: 'o@acme.test',
    });
    expect(made.statusCode, made.body).toBe(202);
    const instanceId = made.json<{ instance: { id: string } }>().instance.id;
    await waitForStatus(instanceId, 'running');
    const hostname = (
      await t.db.selectFrom('instances').select('hostname').where('id', '=', instanceId).executeTakeFirstOrThrow()
    ).hostname as string;
    expect((await site(hostname)).status).toBe(200);

    const plan = await t.db
      .insertInto('plans')
      .values({ slug: 'starter', name: 'Starter', trial_days: 14 })
      .returning('id')
      .executeTakeFirstOrThrow();
    const given = await call('POST', `/api/v1/organizations/${org.id}/subscription`, { planId: plan.id, trial: true });
    expect(given.statusCode, given.body).toBe(201);
    const end = new Date(given.json<{ subscription: { trialEndsAt: string } }>().subscription.trialEndsAt);
    expect(end.getTime() - t.clock.now().getTime()).toBe(14 * DAY_MS);

    await t.services.lifecycleTicker.tick();
    expect(await ownerMail()).toEqual([]);

    // Each reminder at its instant, once, whatever restarts and extra ticks happen.
    const expected: string[] = [];
    for (const days of [7, 3, 1]) {
      t.clock.set(new Date(end.getTime() - days * DAY_MS));
      await restart();
      await t.services.lifecycleTicker.tick();
      await t.services.lifecycleTicker.tick();
      expected.push(`[Marina] ACME: your trial ends in ${days} day${days === 1 ? '' : 's'}`);
      await waitFor('the reminder', async () => ((await ownerMail()).length === expected.length ? true : undefined));
      expect(await ownerMail()).toEqual(expected);
    }

    // The trial ends: suspended, the instance stopped, the site says why (and where the owner signs in).
    t.clock.set(new Date(end.getTime() + 60_000));
    await restart();
    await t.services.lifecycleTicker.tick();
    await waitForStatus(instanceId, 'stopped');
    expected.push('[Marina] ACME: your trial has ended');
    await waitFor('the trial-ended mail', async () =>
      (await ownerMail()).length === expected.length ? true : undefined,
    );
    const ended = await subscription(org.id);
    expect(ended.status).toBe('suspended');
    expect(ended.suspended_kind).toBe('trial_ended');
    expect(ended.suspended_running).toEqual([instanceId]);
    const page = await site(hostname);
    expect(page.status).toBe(503);
    expect(page.body).toContain("This site's trial has ended");
    expect(page.body).toContain(PUBLIC_URL);

    // A restart and more ticks change nothing; an instance started behind the lifecycle's back is stopped again.
    await restart();
    await t.services.lifecycleTicker.tick();
    expect(await ownerMail()).toEqual(expected);
    const row = await t.services.instances.row(instanceId);
    const started = await t.services.instances.submit(
      systemContext('test'),
      row,
      planJob(startJob, {}),
      'instance.start',
    );
    await waitForJob(started.id);
    expect(await instanceStatus(instanceId)).toBe('running');
    const report = await t.services.lifecycleTicker.tick();
    expect(report.stopped).toHaveLength(1);
    // The job, not just the status: the resume below starts at once only what no job holds.
    await waitForJob(report.stopped[0] as string);
    expect(await instanceStatus(instanceId)).toBe('stopped');

    // Extending the trial resumes it: the instance that ran starts, the site serves Odoo again.
    call = await admin();
    const extended = await call('POST', `/api/v1/organizations/${org.id}/subscription/extend-trial`, { days: 10 });
    expect(extended.statusCode, extended.body).toBe(200);
    expect(extended.json<{ subscription: { status: string } }>().subscription.status).toBe('trialing');
    const restarted = await waitFor('the start after resume', () =>
      t.db
        .selectFrom('operations')
        .select('id')
        .where('target_id', '=', instanceId)
        .where('kind', '=', 'instance.start')
        .where('actor_label', '=', 'lifecycle')
        .executeTakeFirst(),
    );
    await waitForJob(restarted.id);
    const served = await site(hostname);
    expect(served.status, served.body.slice(0, 300)).toBe(200);
    expected.push('[Marina] ACME is active again');
    await waitFor('the resumed mail', async () => ((await ownerMail()).length === expected.length ? true : undefined));

    // Down for the whole extension: the reminders due meanwhile are recorded skipped, not sent, and the trial ends.
    const newEnd = (await subscription(org.id)).trial_ends_at as Date;
    t.clock.set(new Date(newEnd.getTime() + 60_000));
    await restart();
    await t.services.lifecycleTicker.tick();
    await waitForStatus(instanceId, 'stopped');
    expected.push('[Marina] ACME: your trial has ended');
    await waitFor('the second trial-ended mail', async () =>
      (await ownerMail()).length === expected.length ? true : undefined,
    );
    const skipped = await t.db
      .selectFrom('subscription_events')
      .select(['key', 'outcome'])
      .where('organization_id', '=', org.id)
      .where('key', 'like', `reminder:%:${newEnd.toISOString()}`)
      .orderBy('key')
      .execute();
    expect(skipped.map((s) => s.outcome)).toEqual(['skipped', 'skipped', 'skipped']);

    // Grace end: the instance is deleted through the normal delete (its safety backup first), the
    // backup kept 90 days, the subscription cancelled, the owner told — once, across restarts.
    const suspended = await subscription(org.id);
    const graceEnd = suspended.grace_ends_at as Date;
    expect(graceEnd.getTime() - (suspended.suspended_at as Date).getTime()).toBe(30 * DAY_MS);
    // First with its database server down: the safety backup fails, so the delete fails and the data stays.
    const server = await t.db
      .selectFrom('database_servers')
      .innerJoin('instances', 'instances.database_server_id', 'database_servers.id')
      .select('database_servers.container_name')
      .where('instances.id', '=', instanceId)
      .executeTakeFirstOrThrow();
    const postgres = docker.getContainer(server.container_name as string);
    await postgres.stop();
    t.clock.set(new Date(graceEnd.getTime() + 60_000));
    await restart();
    const first = await t.services.lifecycleTicker.tick();
    expect(first.deleting).toEqual([org.id]);
    await waitForStatus(instanceId, 'failed');
    expect((await subscription(org.id)).status).toBe('suspended');
    await postgres.start();
    // Tried again after a pause, not at every tick; this time it goes through.
    await restart();
    expect((await t.services.lifecycleTicker.tick()).deleting).toEqual([org.id]);
    expect(await instanceStatus(instanceId)).toBe('failed');
    t.clock.advanceMinutes(16);
    await t.services.lifecycleTicker.tick();
    await waitForStatus(instanceId, null);
    await restart();
    await t.services.lifecycleTicker.tick();
    const cancelled = await subscription(org.id);
    expect(cancelled.status).toBe('cancelled');
    const finals = await t.db
      .selectFrom('backups')
      .select(['trigger', 'status', 'expires_at'])
      .where('organization_id', '=', org.id)
      .execute();
    expect(finals.map((b) => [b.trigger, b.status])).toEqual([['pre-delete', 'completed']]);
    expect(finals[0]?.expires_at?.getTime()).toBe(t.clock.now().getTime() + 90 * DAY_MS);
    expected.push('[Marina] ACME: instances deleted, final backups kept');
    await waitFor('the deletion notice', async () =>
      (await ownerMail()).length === expected.length ? true : undefined,
    );
    const notice = smtp.messages.find((m) => m.subject.includes('instances deleted'));
    expect(notice && textPart(notice)).toContain('main');
    await restart();
    await t.services.lifecycleTicker.tick();
    expect(await ownerMail()).toEqual(expected);
    const steps = await t.db
      .selectFrom('subscription_events')
      .select('key')
      .where('organization_id', '=', org.id)
      .execute();
    expect(steps.filter((s) => s.key.startsWith('grace_end:'))).toHaveLength(1);

    // The final backups are downloadable until they expire, then go with the next tick.
    t.clock.set(new Date(t.clock.now().getTime() + 90 * DAY_MS - 60_000));
    expect((await t.services.lifecycleTicker.tick()).expired).toEqual([]);
    t.clock.advanceMinutes(2);
    expect((await t.services.lifecycleTicker.tick()).expired).toHaveLength(1);
    expect(await t.db.selectFrom('backups').select('id').where('organization_id', '=', org.id).execute()).toEqual([]);
  }, 900_000);
});
