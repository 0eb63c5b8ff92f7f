import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCredentialLink } from '../src/modules/signup/credential-links.js';
import { systemContext } from '../src/platform/context.js';
import { MemoryRuntime } from '../src/runtime/memory.js';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  signIn,
  type TestApp,
  withToken,
} from './helpers/app.js';
import { makeOrganization, makeOrganizationWithAdmin, makeProject } from './helpers/factories.js';
import { links, type SmtpCapture, startSmtpCapture } from './helpers/smtp-capture.js';

/**
 * Credentials links and "Send access" through the API, on the real database and a real SMTP server
 * (the in-memory runtime stands in for Docker: no container runs here; the links read what Marina
 * recorded, as Reveal does). Each link is read from the mail Marina sent, as its recipient would.
 */
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
let t: TestApp;
let smtp: SmtpCapture;
let admin: Browser;
let orgAdmin: Browser;
let developer: Browser;
let viewer: Browser;
let outsider: Browser;
const instances: Record<'production' | 'staging', { id: string; name: string; password: string }> = {
  production: { id: '', name: '', password: '' },
  staging: { id: '', name: '', password: '' },
};

type Answer = LightMyRequestResponse;

beforeAll(async () => {
  smtp = await startSmtpCapture();
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtcredlinks',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
      MARINA_PUBLIC_URL: 'https://marina.test',
    },
    { runtime: () => memory },
  );
  await t.services.settings.setSmtp(systemContext('test'), {
    host: '127.0.0.1',
    port: smtp.port,
    security: 'none',
    from: 'Marina <marina@hosting.test>',
    username: null,
    password: null,
  });
  await t.services.startBackground();
  admin = await adminBrowser(t);
  await makeOrganization(as(t, admin), { slug: 'acme', name: 'Acme Corp' });
  const project = await makeProject(as(t, admin), { organization: 'acme' });
  orgAdmin = await memberBrowser(t, admin, 'acme', 'admin@acme.test', 'admin');
  developer = await memberBrowser(t, admin, 'acme', 'dev@acme.test', 'developer');
  viewer = await memberBrowser(t, admin, 'acme', 'viewer@acme.test', 'viewer');
  outsider = (await makeOrganizationWithAdmin(t, admin, { slug: 'globex', email: 'admin@globex.test' })).admin;
  for (const stage of ['production', 'staging'] as const) instances[stage] = await madeInstance(project.id, stage);
});

afterAll(async () => {
  await t?.close();
  await smtp?.stop();
});

/** An instance whose provisioning is over (on the in-memory runtime it ends at Odoo's initialization). */
async function madeInstance(projectId: string, stage: 'production' | 'staging' | 'development', name: string = stage) {
  const made = await as(t, admin)('POST', '/api/v1/instances', {
    project: projectId,
    name,
    stage,
    memoryMb: 768,
    adminLogin: `boss-${name}@acme.test`,
  });
  expect(made.statusCode, made.body).toBe(202);
  const { instance, job, credentials } = made.json<{
    instance: { id: string; name: string };
    job: { id: string };
    credentials: { password: string };
  }>();
  for (let i = 0; i < 200; i++) {
    const op = await t.db.selectFrom('operations').select('status').where('id', '=', job.id).executeTakeFirstOrThrow();
    const row = await t.services.instances.row(instance.id);
    if (!['queued', 'running'].includes(op.status) && (op.status === 'succeeded' || row.status === 'failed')) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await t.db.updateTable('instances').set({ status: 'stopped' }).where('id', '=', instance.id).execute();
  return { id: instance.id, name: instance.name, password: credentials.password };
}

const sendAccess = (by: Browser, instanceId: string, userId: string): Promise<Answer> =>
  as(t, by)('POST', `/api/v1/instances/${instanceId}/send-access`, { userId });

const open = (who: Browser, token: string): Promise<Answer> =>
  as(t, who)('POST', '/api/v1/credential-links/open', { token });

/** Sends access and answers the token of the link in the mail the recipient got. */
async function sentLink(by: Browser, instanceId: string, to: Browser, email: string): Promise<string> {
  const before = smtp.messages.length;
  const sent = await sendAccess(by, instanceId, to.userId);
  expect(sent.statusCode, sent.body).toBe(202);
  expect(sent.json()).toEqual({ sent: true });
  await t.services.notices.drain();
  const mail = await smtp.waitForMessage((m) => smtp.messages.indexOf(m) >= before && m.to.includes(email));
  const url = links(mail).find((l) => l.startsWith('https://marina.test/credentials#token='));
  expect(url, mail.body).toBeDefined();
  return decodeURIComponent(new URL(url as string).hash.slice('#token='.length));
}

function expectRefused(answer: Answer) {
  expect(answer.statusCode, answer.body).toBe(400);
  expect(answer.json().error).toMatchObject({
    code: 'MARINA_E_INVALID_TOKEN',
    message: 'This link was already used or has expired.',
  });
}

async function auditOf(action: string) {
  return t.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('at', 'asc').execute();
}

describe('send access', () => {
  it('mails a member the address and a link that shows the credentials once, to them, audited', async () => {
    const token = await sentLink(orgAdmin, instances.production.id, viewer, 'viewer@acme.test');
    const mail = smtp.messages.at(-1);
    expect(mail?.subject).toBe('[Marina] Access to production (Acme Corp)');

    const opened = await open(viewer, token);
    expect(opened.statusCode, opened.body).toBe(200);
    const body = opened.json();
    expect(body).toMatchObject({
      instance: { id: instances.production.id, name: 'production' },
      login: 'boss-production@acme.test',
      password: instances.production.password,
    });
    expect(body).not.toHaveProperty('masterPassword');
    // Once: the same link again is refused, with the words every refusal uses.
    expectRefused(await open(viewer, token));

    const sent = (await auditOf('instance.send_access')).find((e) => e.target_id === instances.production.id);
    expect(sent).toMatchObject({ organization_id: expect.any(String), actor_label: 'admin@acme.test' });
    expect(sent?.details).toMatchObject({ recipient: 'viewer@acme.test', userId: viewer.userId });
    const revealed = (await auditOf('instance.reveal_credentials')).filter((e) => e.actor_label === 'viewer@acme.test');
    expect(revealed).toHaveLength(1);
    expect(revealed[0]?.details).toEqual({ via: 'link', purpose: 'send_access' });
  });

  it('asks instance.credentials on the stage: a developer on staging, not on production; a viewer nowhere', async () => {
    const refused = await sendAccess(developer, instances.production.id, viewer.userId);
    expect(refused.statusCode, refused.body).toBe(403);
    expect(refused.json().error.code).toBe('MARINA_E_FORBIDDEN');
    await sentLink(developer, instances.staging.id, viewer, 'viewer@acme.test');
    expect((await sendAccess(viewer, instances.staging.id, viewer.userId)).statusCode).toBe(403);
    // An outsider does not learn the instance exists.
    expect((await sendAccess(outsider, instances.staging.id, outsider.userId)).statusCode).toBe(404);
  });

  it('sends only to a member of the organization, naming the field otherwise', async () => {
    for (const userId of [outsider.userId, admin.userId, '00000000-0000-4000-8000-000000000000']) {
      const answer = await sendAccess(orgAdmin, instances.staging.id, userId);
      expect(answer.statusCode, answer.body).toBe(400);
      expect(answer.json().error).toMatchObject({ code: 'MARINA_E_VALIDATION', details: { field: 'userId' } });
    }
    const links = await t.db
      .selectFrom('credential_links')
      .select('user_id')
      .where('user_id', 'in', [outsider.userId, admin.userId])
      .execute();
    expect(links).toEqual([]);
  });

  it('sends at most 10 per instance per hour', async () => {
    const project = await t.db.selectFrom('projects').select('id').executeTakeFirstOrThrow();
    const busy = await madeInstance(project.id, 'development', 'busy');
    for (let i = 0; i < 10; i++) expect((await sendAccess(orgAdmin, busy.id, developer.userId)).statusCode).toBe(202);
    const limited = await sendAccess(orgAdmin, busy.id, developer.userId);
    expect(limited.statusCode, limited.body).toBe(429);
    expect(limited.json().error.code).toBe('MARINA_E_RATE_LIMITED');
    expect(limited.headers['retry-after']).toBe('3600');
    // Another instance has its own count.
    expect((await sendAccess(orgAdmin, instances.staging.id, developer.userId)).statusCode).toBe(202);
  });
});

describe('opening a credentials link', () => {
  it('needs a session: without one 401, and the link stays for its user', async () => {
    const token = await sentLink(orgAdmin, instances.staging.id, developer, 'dev@acme.test');
    const anonymous = await t.app.inject({ method: 'POST', url: '/api/v1/credential-links/open', payload: { token } });
    expect(anonymous.statusCode).toBe(401);
    expect((await open(developer, token)).statusCode).toBe(200);
  });

  it('answers another user exactly as an unknown link, and leaves it to its own user', async () => {
    const token = await sentLink(orgAdmin, instances.staging.id, viewer, 'viewer@acme.test');
    const wrongUser = await open(developer, token);
    const unknown = await open(developer, `${token.slice(0, -4)}AAAA`);
    expectRefused(wrongUser);
    expectRefused(unknown);
    expect(wrongUser.body).toBe(unknown.body);
    // An admin of the organization is not the link's user either.
    expectRefused(await open(orgAdmin, token));
    const mine = await open(viewer, token);
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.json().password).toBe(instances.staging.password);
  });

  it('gives the password to one of two parallel opens', async () => {
    const token = await sentLink(orgAdmin, instances.staging.id, viewer, 'viewer@acme.test');
    const secondTab = await signIn(t.app, 'viewer@acme.test');
    const revealsBefore = (await auditOf('instance.reveal_credentials')).filter(
      (e) => e.actor_label === 'viewer@acme.test',
    ).length;
    const answers = await Promise.all([open(viewer, token), open(secondTab, token), open(viewer, token)]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 400, 400]);
    const revealed = (await auditOf('instance.reveal_credentials')).filter((e) => e.actor_label === 'viewer@acme.test');
    expect(revealed).toHaveLength(revealsBefore + 1);
  });

  it('works for 7 days and not after', async () => {
    const early = await sentLink(orgAdmin, instances.staging.id, viewer, 'viewer@acme.test');
    const late = await sentLink(orgAdmin, instances.staging.id, viewer, 'viewer@acme.test');
    try {
      t.clock.advanceMinutes(7 * 24 * 60 - 1);
      // The session did not live that long: the user signs in again, as they would.
      viewer = await signIn(t.app, 'viewer@acme.test');
      expect((await open(viewer, early)).statusCode).toBe(200);
      t.clock.advanceMinutes(2);
      viewer = await signIn(t.app, 'viewer@acme.test');
      expectRefused(await open(viewer, late));
    } finally {
      // Everyone's session ended with the days that passed; the next tests need them.
      viewer = await signIn(t.app, 'viewer@acme.test');
      orgAdmin = await signIn(t.app, 'admin@acme.test');
      developer = await signIn(t.app, 'dev@acme.test');
      admin = await signIn(t.app, 'admin@example.com');
    }
  });

  it('is refused once the user left the organization, and once the instance is being deleted', async () => {
    const leaver = await memberBrowser(t, admin, 'acme', 'leaver@acme.test', 'viewer');
    const token = await sentLink(orgAdmin, instances.staging.id, leaver, 'leaver@acme.test');
    const removed = await as(t, orgAdmin)('DELETE', `/api/v1/organizations/acme/members/${leaver.userId}`);
    expect(removed.statusCode, removed.body).toBe(204);
    expectRefused(await open(await signIn(t.app, 'leaver@acme.test'), token));

    const project = await t.db.selectFrom('projects').select('id').executeTakeFirstOrThrow();
    const doomed = await madeInstance(project.id, 'development', 'doomed');
    const doomedToken = await sentLink(orgAdmin, doomed.id, viewer, 'viewer@acme.test');
    const deleting = await as(t, orgAdmin)('DELETE', `/api/v1/instances/${doomed.id}`);
    expect(deleting.statusCode, deleting.body).toBe(202);
    expectRefused(await open(viewer, doomedToken));
  });

  it('is refused to a token limited to another organization, which its own session may open', async () => {
    const globex = await makeOrganization(as(t, admin), { slug: 'globex-links', name: 'Globex links' });
    // The developer of acme is also a viewer at globex, and holds a token limited to globex.
    await t.db
      .insertInto('memberships')
      .values({ organization_id: globex.id, user_id: developer.userId, role: 'viewer' })
      .execute();
    const made = await as(t, developer)('POST', '/api/v1/tokens', { name: 'globex only', organizationId: globex.id });
    expect(made.statusCode, made.body).toBe(201);
    const token = await sentLink(orgAdmin, instances.staging.id, developer, 'dev@acme.test');
    const scoped = await withToken(t, made.json().secret)('POST', '/api/v1/credential-links/open', { token });
    expectRefused(scoped);
    const mine = await open(developer, token);
    expect(mine.statusCode, mine.body).toBe(200);
  });

  it('refuses a session opened as the organization (support), which its own session may open', async () => {
    const token = await createCredentialLink(t.db, {
      instanceId: instances.staging.id,
      userId: admin.userId,
      purpose: 'send_access',
      now: t.clock.now(),
    });
    const opened = await as(t, admin)('POST', '/api/v1/organizations/acme/impersonate', { reason: 'ticket 1' });
    expect(opened.statusCode, opened.body).toBe(201);
    const cookie = opened.cookies.find((c) => c.name === 'marina_session');
    const support: Browser = {
      cookie: `marina_session=${cookie?.value}`,
      csrf: opened.json().csrfToken,
      userId: admin.userId,
    };
    const refused = await open(support, token);
    expect(refused.statusCode, refused.body).toBe(403);
    expect((await open(admin, token)).statusCode).toBe(200);
  });
});
