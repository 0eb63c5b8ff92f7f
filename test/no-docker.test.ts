import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from './helpers/app.js';
import { makeOrganization, makeOrganizationWithAdmin, makeProject } from './helpers/factories.js';

/** Marina without a Docker engine: it starts, says what is wrong and how to fix it, and refuses work clearly. */
let t: TestApp;
let admin: Browser;

beforeAll(async () => {
  t = await createTestApp({ MARINA_DOCKER_HOST: 'unix:///run/marina-test/no-such-docker.sock' });
  await t.services.startBackground();
  admin = await adminBrowser(t);
});
afterAll(() => t.close());

describe('without a Docker engine', () => {
  it('starts anyway and shows the host as unreachable, with how to fix it', async () => {
    const { hosts } = (await as(t, admin)('GET', '/api/v1/hosts')).json();
    expect(hosts).toEqual([
      expect.objectContaining({
        id: 'local',
        dockerHost: 'unix:///run/marina-test/no-such-docker.sock',
        state: 'unreachable',
        message: expect.stringContaining('Install and start Docker'),
      }),
    ]);
    expect((await t.app.inject('/readyz')).statusCode).toBe(200);
  });

  it('lets only platform admins see hosts', async () => {
    const { admin: owner } = await makeOrganizationWithAdmin(t, admin, {
      slug: 'acme',
      email: 'o@acme.test',
      role: 'owner',
    });
    expect((await as(t, owner)('GET', '/api/v1/hosts')).statusCode).toBe(403);
  });

  it('fails a provisioning job at its first step, saying what is wrong, and leaves nothing behind', async () => {
    // An organization of its own: this test runs alone too.
    await makeOrganization(as(t, admin), { slug: 'nodocker' });
    const project = await makeProject(as(t, admin), { organization: 'nodocker' });
    const created = await as(t, admin)('POST', '/api/v1/instances', {
      project: project.id,
      name: 'main',
      stage: 'development',
      adminLogin: 'o@acme.test',
    });
    expect(created.statusCode).toBe(202);
    const jobId = created.json().job.id;
    let job: { status: string; error: { code: string; message: string; step: string } | null } = {
      status: 'queued',
      error: null,
    };
    for (let i = 0; i < 200 && !['succeeded', 'failed'].includes(job.status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      job = (await as(t, admin)('GET', `/api/v1/jobs/${jobId}`)).json().job;
    }
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'MARINA_E_DOCKER_UNAVAILABLE', step: 'validate' });
    expect(job.error?.message).toContain('no-such-docker.sock');
    const row = await t.services.instances.row(created.json().instance.id);
    expect(row.status).toBe('failed');
    expect(row.status_detail).toMatch(/^validate: Cannot reach the Docker engine/);
  });
});
