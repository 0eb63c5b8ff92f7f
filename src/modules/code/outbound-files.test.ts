import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { makeOrganization, makeProject } from '../../../test/helpers/factories.js';
import { createTestRepository, TEST_REPOS_ROOT, type TestRepository } from '../../../test/helpers/git-repo.js';

/**
 * Local (file://) repositories: only for an organization a platform admin allows, and only inside
 * the one root folder a platform admin names, judged on the real path (symlinks followed).
 */
describe('file:// repositories', { timeout: 120_000 }, () => {
  let t: TestApp;
  let admin: Browser;
  let acme: { id: string; project: string };
  let other: { id: string; project: string };
  let inRoot: TestRepository;
  let outside: TestRepository;
  let outsideParent: string;
  const call = (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) => as(t, admin)(method, url, body);
  const add = (org: { project: string }, url: string, name?: string) =>
    call('POST', `/api/v1/projects/${org.project}/repositories`, { url, branch: '17.0', ...(name ? { name } : {}) });

  async function organization(slug: string) {
    const made = await makeOrganization(call, { slug });
    return { id: made.id, project: (await makeProject(call, { organization: slug })).id };
  }

  beforeAll(async () => {
    t = await createTestApp();
    admin = await adminBrowser(t);
    acme = await organization('acme');
    other = await organization('other');
    inRoot = await createTestRepository('17.0');
    outsideParent = await mkdtemp(join(tmpdir(), 'marina-outside-root-'));
    outside = await createTestRepository('17.0', outsideParent);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await inRoot?.cleanup();
    await rm(outsideParent, { recursive: true, force: true });
  });

  it('are refused until a platform admin names a root and allows the organization', async () => {
    expect((await add(acme, inRoot.url)).statusCode).toBe(400);
    await mkdir(TEST_REPOS_ROOT, { recursive: true });
    expect((await call('PUT', '/api/v1/settings/git', { fileRoot: TEST_REPOS_ROOT })).statusCode).toBe(200);
    const notGranted = await add(acme, inRoot.url);
    expect(notGranted.statusCode).toBe(400);
    expect(notGranted.json().error.message).toMatch(/per organization/);
    const granted = await call('PUT', `/api/v1/organizations/${acme.id}/file-repositories`, {
      allowFileRepositories: true,
    });
    expect(granted.statusCode, granted.body).toBe(200);
    const made = await add(acme, inRoot.url);
    expect(made.statusCode, made.body).toBe(201);
    // Another organization is not allowed by acme's grant.
    expect((await add(other, inRoot.url)).statusCode).toBe(400);
    expect((await call('GET', '/api/v1/settings/git')).json().git.fileRepositoryOrganizations).toEqual([acme.id]);
  });

  it('refuse a folder outside the root, directly or through a symlink inside it', async () => {
    const direct = await add(acme, outside.url, 'outside');
    expect(direct.statusCode).toBe(400);
    expect(direct.json().error.message).toMatch(/must be inside/);
    const link = join(TEST_REPOS_ROOT, `escape-${Date.now()}.git`);
    await symlink(outside.bare, link);
    try {
      const viaLink = await add(acme, `file://${link}`, 'escape');
      expect(viaLink.statusCode).toBe(400);
      expect(viaLink.json().error.message).toMatch(/must be inside/);
    } finally {
      await rm(link, { force: true });
    }
    expect(await t.db.selectFrom('repositories').select('name').execute()).toEqual([{ name: 'addons' }]);
  });

  it("refuse a root holding Marina's own data, and let only platform admins change any of it", async () => {
    const holding = await call('PUT', '/api/v1/settings/git', { fileRoot: '/tmp' });
    expect(holding.statusCode).toBe(400);
    expect(holding.json().error.message).toMatch(/Marina's own folder/);
    expect((await call('PUT', '/api/v1/settings/git', { fileRoot: '/nonexistent/x' })).statusCode).toBe(400);

    await t.services.users.createPlatformAdmin(
      { actor: { kind: 'system', label: 'test' }, ip: null },
      { email: 'owner@acme.test', password: STRONG_PASSWORD },
    );
    const user = await t.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'owner@acme.test')
      .executeTakeFirstOrThrow();
    await t.db.updateTable('users').set({ is_platform_admin: false }).where('id', '=', user.id).execute();
    await t.db
      .insertInto('memberships')
      .values({ user_id: user.id, organization_id: other.id, role: 'owner' })
      .execute();
    const owner = await signIn(t.app, 'owner@acme.test');
    const self = await as(t, owner)('PUT', `/api/v1/organizations/${other.id}/file-repositories`, {
      allowFileRepositories: true,
    });
    expect(self.statusCode).toBe(403);
    expect((await as(t, owner)('PUT', '/api/v1/settings/git', { fileRoot: null })).statusCode).toBe(403);
    expect((await as(t, owner)('GET', '/api/v1/settings/git')).statusCode).toBe(403);
  });
});
