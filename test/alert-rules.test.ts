import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentKind } from '../src/db/schema-metrics.js';
import { hostDisk } from '../src/modules/alerts/conditions/platform.js';
import { AlertEvaluator } from '../src/modules/alerts/evaluator.js';
import { adminBrowser, as, type Browser, createTestApp, memberBrowser, type TestApp } from './helpers/app.js';
import { makeOrganizationWithAdmin } from './helpers/factories.js';
import { insertInstanceRows } from './helpers/metrics-world.js';

/**
 * The alert rules other than uptime (issue #15), against a real PostgreSQL: each rule's condition
 * made true in Marina's own tables, one evaluation round opens one incident and one message, the
 * next rounds add nothing, the condition gone resolves it with one "resolved"; tuned and switched
 * per organization through the API.
 */
let t: TestApp;
let platform: Browser;
let owner: Browser;
let viewer: Browser;
let orgId = '';
let instanceId = '';
const HOUR = 3600_000;

beforeAll(async () => {
  t = await createTestApp();
  platform = await adminBrowser(t);
  const acme = await makeOrganizationWithAdmin(t, platform, { slug: 'acme', email: 'owner@acme.test', role: 'owner' });
  owner = acme.admin;
  orgId = acme.organization.id;
  viewer = await memberBrowser(t, owner, 'acme', 'viewer@acme.test', 'viewer');
  const world = await insertInstanceRows(t.db, orgId, ['main'], { project: 'shop' });
  instanceId = world.instances[0]?.id ?? '';
});

afterAll(async () => {
  await t?.close();
});

const round = () => t.services.alertEvaluator.runOnce();
const incidents = (kind: IncidentKind) =>
  t.db.selectFrom('incidents').selectAll().where('kind', '=', kind).orderBy('opened_at').execute();
const mails = async (title: string) => {
  const rows = await t.db.selectFrom('mail_outbox').selectAll().where('key', 'like', 'alert_%').execute();
  return rows.filter((r) => r.vars.title === title).map((r) => ({ key: r.key, to: r.to, vars: r.vars }));
};

/** One rule's whole life: fires once, stays quiet while it lasts, resolves once. */
async function firesAndResolves(
  kind: IncidentKind,
  title: string,
  make: () => Promise<void>,
  clear: () => Promise<void>,
) {
  await make();
  await round();
  await round();
  const open = await incidents(kind);
  expect(open).toHaveLength(1);
  expect(open[0]?.resolved_at).toBeNull();
  let sent = await mails(title);
  expect(sent.map((m) => m.key)).toEqual(['alert_firing']);
  expect(sent[0]?.to).toBe('owner@acme.test');
  expect(String(sent[0]?.vars.summary)).not.toBe('');
  expect(String(sent[0]?.vars.advice)).not.toBe('');
  await clear();
  t.clock.advanceMinutes(1);
  await round();
  await round();
  const after = await incidents(kind);
  expect(after).toHaveLength(1);
  expect(after[0]?.resolved_at).not.toBeNull();
  sent = await mails(title);
  expect(sent.map((m) => m.key).sort()).toEqual(['alert_firing', 'alert_resolved']);
  return { incident: open[0], firing: sent.find((m) => m.key === 'alert_firing') };
}

async function memorySamples(minutes: number, percent: number) {
  const series = await t.db
    .insertInto('metric_series')
    .values({ instance_id: instanceId, organization_id: orgId })
    .onConflict((oc) => oc.column('instance_id').doUpdateSet({ organization_id: orgId }))
    .returning('id')
    .executeTakeFirstOrThrow();
  const now = Math.floor(t.clock.now().getTime() / 60_000);
  const limit = 1024 * 1024;
  const rows = Array.from({ length: minutes }, (_, i) => ({
    series: series.id,
    minute: now - i,
    memory_kib: Math.round((limit * percent) / 100),
    memory_limit_kib: limit,
  }));
  await t.db
    .insertInto('metric_minutes')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['series', 'minute']).doUpdateSet((eb) => ({ memory_kib: eb.ref('excluded.memory_kib') })),
    )
    .execute();
}

async function insertBackup() {
  return t.db
    .insertInto('backups')
    .values({
      organization_id: orgId,
      instance_id: instanceId,
      instance_label: 'shop/main',
      odoo_version: '17.0',
      kind: 'full',
      format: 'native',
      trigger: 'schedule',
      status: 'completed',
      file_name: `${instanceId}/b.tar.zst`,
      sha256: 'a'.repeat(64),
      size_bytes: 1000,
      error: null,
      operation_id: null,
      created_by: 'test',
      completed_at: t.clock.now(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
}

describe('alert rules', () => {
  it('memory near its limit for 10 minutes fires once and resolves once; a short spike does not fire', async () => {
    await memorySamples(4, 97);
    await round();
    expect(await incidents('memory_high')).toHaveLength(0);
    const { firing } = await firesAndResolves(
      'memory_high',
      'Memory near its limit',
      () => memorySamples(10, 95),
      async () => {
        t.clock.advanceMinutes(1);
        await memorySamples(1, 40);
      },
    );
    expect(firing?.vars.instance).toBe('shop/main');
    expect(String(firing?.vars.summary)).toMatch(/95.*% of the limit for 10 minutes/);
  });

  it('no completed backup within 26 hours of a scheduled instance fires; a backup resolves it', async () => {
    const old = new Date(t.clock.now().getTime() - 30 * HOUR);
    await t.db
      .updateTable('instances')
      .set({ created_at: old.toISOString() } as never)
      .where('id', '=', instanceId)
      .execute();
    await firesAndResolves(
      'backup_stale',
      'No recent backup',
      async () => {
        await t.db
          .insertInto('schedules')
          .values({
            instance_id: instanceId,
            enabled: true,
            spec: JSON.stringify({ every: 'day', at: '02:00' }),
            kind: 'full',
            format: 'native',
            retention: JSON.stringify({}),
            verify_every_days: null,
            updated_by: 'test',
            updated_at: old,
          })
          .execute();
      },
      async () => {
        await insertBackup();
      },
    );
  });

  it('a failed offsite copy fires; a later verified copy resolves it', async () => {
    const destination = await t.db
      .insertInto('destinations')
      .values({
        organization_id: orgId,
        name: 'offsite-s3',
        kind: 's3',
        settings: JSON.stringify({}),
        secrets: 'sealed',
        created_by: 'test',
        updated_at: t.clock.now(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const copy = async (status: 'failed' | 'verified', minutesAgo: number) =>
      t.db
        .insertInto('backup_copies')
        .values({
          backup_id: (await insertBackup()).id,
          destination_id: destination.id,
          status,
          remote_key: `k${minutesAgo}`,
          error: status === 'failed' ? 'SignatureDoesNotMatch' : null,
          sha256: status === 'verified' ? 'a'.repeat(64) : null,
          verified_at: status === 'verified' ? t.clock.now() : null,
          size_bytes: 1000,
          created_at: new Date(t.clock.now().getTime() - minutesAgo * 60_000),
          updated_at: new Date(t.clock.now().getTime() - minutesAgo * 60_000),
        } as never)
        .execute();
    const { firing } = await firesAndResolves(
      'offsite_failed',
      'Offsite copy failed',
      async () => {
        await copy('verified', 120);
        await copy('failed', 60);
      },
      async () => {
        await copy('verified', 0);
      },
    );
    expect(String(firing?.vars.summary)).toContain('offsite-s3 failed: SignatureDoesNotMatch');
  });

  it('a job failing repeatedly fires at the organization’s own count; a success resolves it', async () => {
    const set = await as(t, owner)('PUT', `/api/v1/organizations/${orgId}/alert-rules/job_failing`, {
      settings: { count: 2 },
    });
    expect(set.statusCode, set.body).toBe(200);
    const job = (status: 'failed' | 'succeeded', minutesAgo: number) =>
      t.db
        .insertInto('operations')
        .values({
          kind: 'backup.create',
          organization_id: orgId,
          host_id: 'local',
          target_type: 'instance',
          target_id: instanceId,
          target_label: 'shop/main',
          status,
          steps: JSON.stringify([]),
          input: JSON.stringify({}),
          actor_label: 'test',
          created_at: new Date(t.clock.now().getTime() - minutesAgo * 60_000),
        })
        .execute();
    await job('failed', 30);
    await round();
    expect(await incidents('job_failing')).toHaveLength(0);
    const { incident } = await firesAndResolves(
      'job_failing',
      'Job failing repeatedly',
      async () => {
        await job('failed', 20);
      },
      async () => {
        await job('succeeded', 0);
      },
    );
    expect(incident?.subject).toBe(`${instanceId}/backup.create`);
  });

  it('storage over 90 % of the quota fires; switching the rule off resolves it and nothing fires again', async () => {
    const plan = await as(t, platform)('POST', '/api/v1/plans', {
      slug: 'small',
      name: 'Small',
      limits: { storageMb: 100 },
    });
    expect(plan.statusCode, plan.body).toBe(201);
    const planId = plan.json<{ plan: { id: string } }>().plan.id;
    await t.db.transaction().execute((trx) => t.services.subscriptions.start(trx, orgId, planId, { trial: false }));
    await firesAndResolves(
      'storage_quota',
      'Storage near the quota',
      async () => {
        await t.db
          .insertInto('instance_usage')
          .values({
            instance_id: instanceId,
            organization_id: orgId,
            database_bytes: 60 * 1048576,
            filestore_bytes: 35 * 1048576,
          })
          .execute();
      },
      async () => {
        const off = await as(t, owner)('PUT', `/api/v1/organizations/${orgId}/alert-rules/storage_quota`, {
          enabled: false,
        });
        expect(off.statusCode, off.body).toBe(200);
      },
    );
  });

  it('a certificate expiring within 14 days fires; a renewed one resolves it', async () => {
    const days = (n: number) => new Date(t.clock.now().getTime() + n * 24 * HOUR).toISOString();
    const state = (n: number) => JSON.stringify({ notAfter: days(n), checkedAt: t.clock.now().toISOString() });
    const domain = await t.db
      .insertInto('domains')
      .values({
        organization_id: orgId,
        instance_id: instanceId,
        hostname: 'erp.acme.test',
        method: 'cname',
        token: 'x',
        status: 'verified',
        certificate_state: state(5),
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    const { firing } = await firesAndResolves(
      'certificate',
      'Certificate expiring',
      async () => undefined,
      async () => {
        await t.db
          .updateTable('domains')
          .set({ certificate_state: state(80) } as never)
          .where('id', '=', domain.id)
          .execute();
      },
    );
    expect(firing?.vars.instance).toBe('erp.acme.test');
    expect(String(firing?.vars.summary)).toMatch(/expires in 5 days/);
  });

  it('a full host disk tells the platform’s admins, and two evaluators at once open one incident and one mail', async () => {
    const context = { sampleIntervalMs: 60_000, hostDiskPercent: 1, dataDir: t.config.dataDir };
    const evaluator = () =>
      new AlertEvaluator({
        db: t.db,
        clock: t.clock,
        logger: pino({ level: 'silent' }),
        notifier: t.services.alertNotifier,
        conditions: [hostDisk],
        context,
        intervalMs: 60_000,
        quietMs: 600_000,
      });
    await Promise.all([evaluator().runOnce(), evaluator().runOnce()]);
    const open = await incidents('host_disk');
    expect(open).toHaveLength(1);
    expect(open[0]?.organization_id).toBeNull();
    const sent = await mails('Host disk almost full');
    expect(sent).toHaveLength(1);
    const admin = await t.db.selectFrom('users').select('email').where('is_platform_admin', '=', true).execute();
    expect(admin.map((a) => a.email)).toContain(sent[0]?.to);
    expect(String(sent[0]?.vars.summary)).toMatch(/% full/);
  });

  it('lets owners tune rules within bounds, refuses bad values changing nothing, and hides them from viewers', async () => {
    const url = `/api/v1/organizations/${orgId}/alert-rules`;
    const listed = await as(t, owner)('GET', url);
    expect(listed.statusCode).toBe(200);
    const rules = listed.json<{ rules: { rule: string; settings: Record<string, number> }[] }>().rules;
    expect(rules.map((r) => r.rule)).toEqual([
      'instance_down',
      'memory_high',
      'storage_quota',
      'backup_stale',
      'offsite_failed',
      'certificate',
      'job_failing',
    ]);
    expect(rules.find((r) => r.rule === 'memory_high')?.settings).toEqual({ percent: 90, minutes: 10 });
    for (const body of [
      { settings: { percent: 101 } },
      { settings: { nonsense: 3 } },
      { settings: { minutes: 1.5 } },
    ]) {
      const bad = await as(t, owner)('PUT', `${url}/memory_high`, body);
      expect(bad.statusCode, JSON.stringify(body)).toBe(400);
    }
    expect((await as(t, owner)('PUT', `${url}/host_disk`, { enabled: false })).statusCode).toBe(404);
    const after = await as(t, owner)('GET', url);
    expect(
      after.json<{ rules: { rule: string; settings: unknown }[] }>().rules.find((r) => r.rule === 'memory_high')
        ?.settings,
    ).toEqual({
      percent: 90,
      minutes: 10,
    });
    expect((await as(t, viewer)('GET', url)).statusCode).toBe(403);
    // Another organization's admin learns nothing: not even that the organization exists.
    const other = await makeOrganizationWithAdmin(t, platform, { slug: 'rival', email: 'admin@rival.test' });
    expect((await as(t, other.admin)('GET', url)).statusCode).toBe(404);
    expect((await as(t, other.admin)('PUT', `${url}/memory_high`, { enabled: false })).statusCode).toBe(404);
    expect((await as(t, other.admin)('GET', `/api/v1/organizations/${orgId}/incidents`)).statusCode).toBe(404);
    expect((await as(t, viewer)('PUT', `${url}/memory_high`, { enabled: false })).statusCode).toBe(403);
  });
});
