import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  type TestApp,
} from '../../../test/helpers/app.js';
import { makeOrganization } from '../../../test/helpers/factories.js';

/**
 * Secrets that must not leak sideways: the push-hook token (it is the hook's URL) never reaches a
 * log line, and a platform-wide destination's whereabouts stay with the platform admins.
 */
let t: TestApp;
let admin: Browser;
let acmeId: string;

beforeAll(async () => {
  t = await createTestApp({ MARINA_TEST_CAPTURE_LOGS: '1', MARINA_PUBLIC_URL: 'http://marina.test' });
  admin = await adminBrowser(t);
  acmeId = (await makeOrganization(as(t, admin), { slug: 'acme', name: 'ACME Corp' })).id;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('the push-hook token', { timeout: 60_000 }, () => {
  it('never reaches a log line, for a known hook or an unknown one', async () => {
    // An address, not a name: nothing is resolved, and nothing cloned (the project has no instance).
    const project = await as(t, admin)('POST', '/api/v1/projects', {
      organization: 'acme',
      name: 'erp',
      odooVersion: '17.0',
    });
    expect(project.statusCode, project.body).toBe(201);
    const created = await as(t, admin)('POST', `/api/v1/projects/${project.json().project.id}/repositories`, {
      url: 'https://140.82.112.3/acme/addons.git',
      branch: '17.0',
    });
    expect(created.statusCode, created.body).toBe(201);
    const hook = created.json().repository.hook as { url: string; secret: string };
    const path = new URL(hook.url).pathname;
    const token = path.split('/').pop() ?? '';
    expect(token.length).toBeGreaterThanOrEqual(16);

    const body = JSON.stringify({ ref: 'refs/heads/17.0', before: '0'.repeat(40), after: 'a'.repeat(40) });
    const signature = `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`;
    const pushed = await t.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature },
      payload: body,
    });
    expect(pushed.statusCode, pushed.body).toBe(200);
    const unknown = 'unknownHookToken0123456789abcdef';
    const missing = await t.app.inject({
      method: 'POST',
      url: `/api/v1/hooks/git/${unknown}`,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature },
      payload: body,
    });
    expect(missing.statusCode).toBe(404);

    const logged = t.logs.join('\n');
    // The requests were logged (so the capture works), without what names the hook.
    expect(logged).toContain('/api/v1/hooks/git/');
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(unknown);
    expect(logged).not.toContain(hook.secret);
  });
});

describe('platform-wide destinations', { timeout: 60_000 }, () => {
  it('show where they are and with which key to platform admins only', async () => {
    const platform = await as(t, admin)('POST', '/api/v1/destinations', {
      name: 'shared bucket',
      kind: 's3',
      // Nothing answers there: saved without a passing connection test, as asked.
      saveAnyway: true,
      s3: {
        endpoint: 'https://s3.storage.example',
        bucket: 'hosting-backups',
        prefix: 'marina',
        accessKeyId: 'AKIAPLATFORMKEY123',
        secretAccessKey: 'platform-secret-0123456789',
      },
    });
    expect(platform.statusCode, platform.body).toBe(201);
    const platformId = platform.json().destination.id as string;
    const own = await as(t, admin)('POST', '/api/v1/destinations', {
      organizationId: acmeId,
      name: 'acme box',
      kind: 's3',
      saveAnyway: true,
      s3: {
        endpoint: 'https://s3.acme.example',
        bucket: 'acme-backups',
        accessKeyId: 'AKIAACMEKEY',
        secretAccessKey: 'acme-secret-0123456789',
      },
    });
    expect(own.statusCode, own.body).toBe(201);

    const seenByAdmin = (await as(t, admin)('GET', `/api/v1/destinations/${platformId}`)).json().destination;
    expect(seenByAdmin.s3).toMatchObject({ endpoint: 'https://s3.storage.example', accessKeyId: 'AKIAPLATFORMKEY123' });

    const orgAdmin = await memberBrowser(t, admin, 'acme', 'admin@acme.test', 'admin');
    const answers = [
      await as(t, orgAdmin)('GET', '/api/v1/destinations'),
      await as(t, orgAdmin)('GET', `/api/v1/destinations?organizationId=${acmeId}`),
      await as(t, orgAdmin)('GET', `/api/v1/destinations/${platformId}`),
    ];
    for (const answer of answers) {
      expect(answer.statusCode, answer.body).toBe(200);
      for (const hidden of ['s3.storage.example', 'hosting-backups', 'AKIAPLATFORMKEY123'])
        expect(answer.body).not.toContain(hidden);
    }
    const listed = answers[0]?.json().destinations as Record<string, unknown>[];
    expect(listed.find((d) => d.id === platformId)).toMatchObject({
      name: 'shared bucket',
      kind: 's3',
      s3: null,
      sftp: null,
      secretsSet: [],
      createdBy: 'platform',
    });
    // Their own organization's destination they see whole.
    expect(listed.find((d) => d.name === 'acme box')).toMatchObject({
      s3: { endpoint: 'https://s3.acme.example', accessKeyId: 'AKIAACMEKEY' },
    });
  });
});
