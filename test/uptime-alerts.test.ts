import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemContext } from '../src/platform/context.js';
import { as, type TestApp } from './helpers/app.js';
import {
  docker,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from './helpers/docker.js';
import { makeProject, requestInstance } from './helpers/factories.js';
import { followJob } from './helpers/jobs.js';
import { type SmtpCapture, startSmtpCapture, textPart } from './helpers/smtp-capture.js';

/**
 * Issue #15's "done means" for uptime: a production instance (the Odoo STAND-IN on the real Docker
 * engine) is stopped behind Marina's back; an incident opens after the configured failed checks and
 * the email (a capturing SMTP server) and the signed webhook (a capturing HTTP server on loopback)
 * arrive once each; started again, one "resolved" of each.
 */
const namespace = testNamespace();
let marina: Awaited<ReturnType<typeof startDockerMarina>>;
let t: TestApp;
let smtp: SmtpCapture;
let hookServer: Server;
let ticker: NodeJS.Timeout | undefined;
const hooks: { body: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  await requireDocker();
  smtp = await startSmtpCapture();
  hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      hooks.push({ body, headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  marina = await startDockerMarina(
    namespace,
    {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
      MARINA_UPTIME_INTERVAL_S: '1',
      MARINA_UPTIME_FAIL_THRESHOLD: '3',
      MARINA_UPTIME_OK_THRESHOLD: '2',
    },
    { alertsAllowHttp: true },
  );
  t = marina.t;
  // The test clock runs 4× real time: each 1 s round is a distinct moment for the checker.
  ticker = setInterval(() => t.clock.advanceMinutes(1 / 60), 250);
  await t.services.settings.setSmtp(systemContext('test'), {
    host: '127.0.0.1',
    port: smtp.port,
    security: 'none',
    from: 'Marina <marina@hosting.test>',
    username: null,
    password: null,
  });
}, 120_000);

afterAll(async () => {
  if (ticker) clearInterval(ticker);
  await t?.close();
  await removeNamespace(namespace);
  await smtp?.stop();
  await new Promise((resolve) => hookServer?.close(resolve));
});

describe('uptime and alerts on a real container', () => {
  it('tells of an instance stopped behind Marina’s back once by email and webhook, and once when it is back', async () => {
    const call = as(t, marina.admin);
    const allowed = await call('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] });
    expect(allowed.statusCode, allowed.body).toBe(200);
    const project = await makeProject(call, { name: 'shop' });
    const created = await requestInstance(call, {
      project: project.id,
      name: 'main',
      stage: 'production',
      memoryMb: 512,
    });
    const { job } = await followJob(marina.baseUrl, marina.headers, created.job.id, 180_000);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const instanceId = created.instance.id;
    const row = await t.db.selectFrom('instances').selectAll().where('id', '=', instanceId).executeTakeFirstOrThrow();

    const org = row.organization_id;
    const email = await call('POST', `/api/v1/organizations/${org}/alert-channels`, {
      kind: 'email',
      name: 'ops mail',
      target: 'ops@acme.test',
    });
    expect(email.statusCode, email.body).toBe(201);
    const port = (hookServer.address() as AddressInfo).port;
    const webhook = await call('POST', `/api/v1/organizations/${org}/alert-channels`, {
      kind: 'webhook',
      name: 'ops hook',
      target: `http://127.0.0.1:${port}/marina`,
    });
    expect(webhook.statusCode, webhook.body).toBe(201);
    const { secret, channel } = webhook.json<{ secret: string; channel: { id: string } }>();

    // The test button reaches the receiver, signed.
    const tested = await call('POST', `/api/v1/organizations/${org}/alert-channels/${channel.id}/test`);
    expect(tested.json()).toEqual({ ok: true, status: 204, error: null });
    expect(JSON.parse(hooks.shift()?.body ?? '{}')).toMatchObject({ event: 'test' });

    // Good checks first: the instance is watched.
    await vi.waitFor(
      async () => {
        const good = await t.db
          .selectFrom('uptime_checks')
          .selectAll()
          .where('instance_id', '=', instanceId)
          .where('ok', '=', true)
          .execute();
        expect(good.length).toBeGreaterThanOrEqual(2);
      },
      { timeout: 20_000, interval: 250 },
    );

    await docker.getContainer(row.container_name).stop({ t: 1 });
    await vi.waitFor(
      () => {
        expect(hooks.length).toBeGreaterThanOrEqual(1);
        expect(smtp.messages.filter((m) => m.subject.includes('Instance down')).length).toBeGreaterThanOrEqual(1);
      },
      { timeout: 30_000, interval: 250 },
    );
    const incidents = await call('GET', `/api/v1/organizations/${org}/incidents`);
    const [incident] = incidents.json<{
      incidents: { id: string; resolvedAt: string | null; details: { failed: string } }[];
    }>().incidents;
    expect(incident?.resolvedAt).toBeNull();
    expect(incident?.details.failed).toBe('direct');
    // It opened after the configured failed checks, not before.
    const failed = await t.db
      .selectFrom('uptime_checks')
      .select('ok')
      .where('instance_id', '=', instanceId)
      .where('ok', '=', false)
      .execute();
    expect(failed.length).toBeGreaterThanOrEqual(3);

    const firing = hooks[0] as { body: string; headers: IncomingHttpHeaders };
    const expected = `sha256=${createHmac('sha256', secret).update(firing.body).digest('hex')}`;
    expect(firing.headers['x-marina-signature']).toBe(expected);
    expect(firing.headers['x-marina-timestamp']).toMatch(/^\d+$/);
    const payload = JSON.parse(firing.body);
    expect(payload).toMatchObject({
      event: 'firing',
      alert: { rule: 'instance_down', failed: 'direct' },
      instance: { id: instanceId, name: 'main' },
      resolvedAt: null,
    });
    expect(payload.instance.page).toBe(`${t.config.publicUrl}/instances/${instanceId}`);
    const mail = smtp.messages.find((m) => m.subject.includes('Instance down'));
    if (!mail) throw new Error('no alert mail');
    expect(mail.to).toEqual(['ops@acme.test']);
    const text = textPart(mail);
    expect(text).toContain('shop/main');
    expect(text).toMatch(/What: +The direct check failed/);
    expect(text).toContain(`/instances/${instanceId}`);

    await docker.getContainer(row.container_name).start();
    await vi.waitFor(
      () => {
        expect(hooks.some((h) => JSON.parse(h.body).event === 'resolved')).toBe(true);
        expect(smtp.messages.some((m) => m.subject.startsWith('[Marina] Resolved'))).toBe(true);
      },
      { timeout: 60_000, interval: 250 },
    );
    // A few more rounds: nothing more is sent.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(hooks.map((h) => JSON.parse(h.body).event)).toEqual(['firing', 'resolved']);
    for (const h of hooks)
      expect(h.headers['x-marina-signature']).toBe(
        `sha256=${createHmac('sha256', secret).update(h.body).digest('hex')}`,
      );
    expect(smtp.messages.map((m) => m.subject)).toEqual([
      '[Marina] Alert: Instance down: shop/main',
      '[Marina] Resolved: Instance down: shop/main',
    ]);
    const resolved = smtp.messages[1];
    if (!resolved) throw new Error('no resolved mail');
    expect(textPart(resolved)).toContain(`/instances/${instanceId}`);

    const uptime = await call('GET', `/api/v1/instances/${instanceId}/uptime`);
    expect(uptime.statusCode, uptime.body).toBe(200);
    const sla = uptime.json<{
      availability: number;
      days: { failures: number }[];
      incidents: { resolvedAt: string | null }[];
    }>();
    expect(sla.availability).toBeLessThan(100);
    expect(sla.days.reduce((n, d) => n + d.failures, 0)).toBeGreaterThanOrEqual(3);
    expect(sla.incidents).toHaveLength(1);
    expect(sla.incidents[0]?.resolvedAt).not.toBeNull();
  }, 300_000);
});
