import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { MemberRole, Stage } from '../src/db/schema.js';
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
import { makeOrganizationWithAdmin, makeProject, requestInstance } from './helpers/factories.js';
import { allowLocalRepositories, createTestRepository, type TestRepository } from './helpers/git-repo.js';

/**
 * Every role against a representative route of every permission, on a production and a staging
 * instance, through the API (the in-memory runtime: no Docker). The expected answers are the
 * design's table written out here, not read from src/platform/permissions.ts: a check missing in a
 * service (an answer that is not 403) or a table entry changed by mistake fails this test. And
 * `GET /me` must say the same as the API does, since the UI hides buttons from it.
 */
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
const roles: MemberRole[] = ['owner', 'admin', 'developer', 'viewer'];

/** The design's table: the least role per permission, on staging/development and on production. */
const table: Record<string, { staging: MemberRole; production: MemberRole }> = {
  'instance.view': { staging: 'viewer', production: 'viewer' },
  'project.view': { staging: 'viewer', production: 'viewer' },
  'backup.view': { staging: 'viewer', production: 'viewer' },
  'domain.view': { staging: 'viewer', production: 'viewer' },
  'team.view': { staging: 'viewer', production: 'viewer' },
  'instance.logs': { staging: 'developer', production: 'developer' },
  'instance.operate': { staging: 'developer', production: 'admin' },
  'instance.credentials': { staging: 'developer', production: 'admin' },
  // A repository's code runs on every instance of its project: with a production one, an admin's call.
  'repository.manage': { staging: 'developer', production: 'admin' },
  'backup.manage': { staging: 'admin', production: 'admin' },
  'domain.manage': { staging: 'admin', production: 'admin' },
  'team.manage': { staging: 'admin', production: 'admin' },
  // Alerts belong to the organization, whatever the stage.
  'alerts.manage': { staging: 'admin', production: 'admin' },
};
const order: MemberRole[] = ['viewer', 'developer', 'admin', 'owner'];
const allowed = (role: MemberRole, least: MemberRole) => order.indexOf(role) >= order.indexOf(least);

interface World {
  organizationId: string;
  projectId: string;
  instances: Record<Stage, string>;
}

type Request = [method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown];

let unique = 0;
/**
 * Representative requests per permission. Where an allowed request would change something for
 * good, it is one that passes the permission check and then stops on what follows (the instance
 * failed to provision: nothing to restart or back up; an invalid repository URL), so the matrix
 * can run in any order.
 */
function requestsFor(permission: string, w: World, stage: Stage): Request[] {
  const instance = w.instances[stage];
  switch (permission) {
    case 'instance.view':
      return [['GET', `/api/v1/instances/${instance}`]];
    case 'project.view':
      return [['GET', `/api/v1/projects/${w.projectId}`]];
    case 'backup.view':
      return [['GET', `/api/v1/instances/${instance}/backups`]];
    case 'domain.view':
      return [['GET', `/api/v1/instances/${instance}/domains`]];
    case 'team.view':
      return [['GET', `/api/v1/organizations/${w.organizationId}/members`]];
    case 'instance.logs':
      return [['GET', `/api/v1/instances/${instance}/logs`]];
    case 'instance.operate':
      return [
        ['POST', `/api/v1/instances/${instance}/restart`, {}],
        ['POST', `/api/v1/instances/${instance}/start`, {}],
        ['DELETE', `/api/v1/instances/${instance}/mails`],
        ['POST', `/api/v1/instances/${instance}/modules`, { install: ['nonexistent_module_x'], dryRun: true }],
        [
          'POST',
          '/api/v1/instances',
          {
            project: w.projectId,
            name: stage === 'production' ? 'main' : 'staging',
            stage,
            memoryMb: 768,
            adminLogin: 'o@acme.test',
          },
        ],
      ];
    case 'instance.credentials':
      // The caught mail holds Odoo's password-reset mails: reading it is as good as the password.
      return [
        ['POST', `/api/v1/instances/${instance}/credentials`],
        ['GET', `/api/v1/instances/${instance}/mails`],
      ];
    case 'repository.manage': {
      // "production": the project with a production instance; "staging": a project with only staging.
      const { projectId, repositoryId } = code[stage === 'production' ? 'production' : 'staging'];
      return [
        ['POST', `/api/v1/projects/${projectId}/repositories`, { url: 'ftp://nowhere', branch: 'main' }],
        ['PATCH', `/api/v1/repositories/${repositoryId}`, { branch: 'not a branch' }],
        // Allowed: the instances failed to provision, so there is nothing to update (409), nothing runs.
        ['POST', `/api/v1/repositories/${repositoryId}/pull`, {}],
      ];
    }
    case 'backup.manage':
      return [['POST', `/api/v1/instances/${instance}/backups`, {}]];
    case 'domain.manage':
      return [['POST', `/api/v1/instances/${instance}/domains`, { hostname: 'shop.example.com' }]];
    case 'team.manage':
      unique += 1;
      return [
        ['POST', `/api/v1/organizations/${w.organizationId}/members`, { email: `n${unique}@x.test`, role: 'viewer' }],
      ];
    case 'alerts.manage':
      unique += 1;
      return [
        [
          'POST',
          `/api/v1/organizations/${w.organizationId}/alert-channels`,
          { kind: 'email', target: `a${unique}@x.test` },
        ],
      ];
    default:
      throw new Error(`no request for ${permission}`);
  }
}

let t: TestApp;
let world: World;
let other: World;
/** A repository in the project with a production instance, and one in a project with only staging. */
const code = {} as Record<'production' | 'staging', { projectId: string; repositoryId: string; instanceId: string }>;
let gitRepo: TestRepository | undefined;
const people = {} as Record<MemberRole | 'outsider', Browser>;

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtmempermissions',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  const admin = await adminBrowser(t);
  const make = async (slug: string): Promise<World> => {
    const { organization, admin: orgAdmin } = await makeOrganizationWithAdmin(t, admin, { slug });
    if (slug === 'acme') people.admin = orgAdmin;
    else people.outsider = orgAdmin;
    const project = await makeProject(as(t, admin), { organization: slug });
    const production = await requestInstance(as(t, admin), { project: project.id, name: 'main', stage: 'production' });
    const staging = await requestInstance(as(t, admin), { project: project.id, name: 'staging', stage: 'staging' });
    return {
      organizationId: organization.id,
      projectId: project.id,
      instances: { production: production.instance.id, staging: staging.instance.id, development: staging.instance.id },
    };
  };
  world = await make('acme');
  other = await make('globex');
  people.owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
  people.developer = await memberBrowser(t, admin, 'acme', 'dev@acme.test', 'developer');
  people.viewer = await memberBrowser(t, admin, 'acme', 'viewer@acme.test', 'viewer');
  const shop = await makeProject(as(t, admin), { organization: 'acme', name: 'shop' });
  const sandbox = await requestInstance(as(t, admin), { project: shop.id, name: 'sandbox', stage: 'staging' });
  // The stand-in runs no Odoo: provisioning fails, and the instances stay failed (nothing to run).
  const ids = [...Object.values(world.instances), ...Object.values(other.instances), sandbox.instance.id];
  for (const id of ids) {
    await vi.waitFor(async () => expect((await t.services.instances.row(id)).status).toBe('failed'), {
      timeout: 30_000,
      interval: 100,
    });
  }
  gitRepo = await createTestRepository('17.0');
  await gitRepo.write('README.md', 'addons\n');
  await gitRepo.commit('first');
  await gitRepo.push();
  await allowLocalRepositories(as(t, admin), world.organizationId);
  for (const [stage, projectId, instanceId] of [
    ['production', world.projectId, world.instances.production],
    ['staging', shop.id, sandbox.instance.id],
  ] as const) {
    const made = await as(t, admin)('POST', `/api/v1/projects/${projectId}/repositories`, {
      url: gitRepo.url,
      branch: '17.0',
    });
    expect(made.statusCode, made.body).toBe(201);
    code[stage] = { projectId, repositoryId: made.json().repository.id, instanceId };
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
  await gitRepo?.cleanup();
});

const refusals = [401, 403, 404];

describe('the permission matrix', () => {
  for (const permission of Object.keys(table)) {
    for (const stage of ['production', 'staging'] as const) {
      it(`${permission} on ${stage}`, async () => {
        for (const role of roles) {
          const expected = table[permission]?.[stage];
          if (!expected) throw new Error('no such row');
          for (const [method, url, body] of requestsFor(permission, world, stage)) {
            const answer = await as(t, people[role])(method, url, body);
            const what = `${role} ${method} ${url}: ${answer.statusCode} ${answer.body.slice(0, 200)}`;
            if (allowed(role, expected)) expect(refusals, what).not.toContain(answer.statusCode);
            else {
              expect(answer.statusCode, what).toBe(403);
              expect(answer.json().error.code, what).toBe('MARINA_E_FORBIDDEN');
            }
          }
        }
        // Someone of another organization, even its admin, learns nothing: "not found".
        for (const [method, url, body] of requestsFor(permission, world, stage)) {
          if (method === 'POST' && url === '/api/v1/instances') continue; // checked below, with its project
          const answer = await as(t, people.outsider)(method, url, body);
          expect(answer.statusCode, `outsider ${method} ${url}: ${answer.body.slice(0, 200)}`).toBe(404);
        }
      });
    }
  }

  it("a repository's push hook (URL and secret) is shown to those who may manage it on every instance", async () => {
    for (const role of roles) {
      for (const stage of ['production', 'staging'] as const) {
        const seen = await as(t, people[role])('GET', `/api/v1/repositories/${code[stage].repositoryId}`);
        expect(seen.statusCode, seen.body).toBe(200);
        const least = table['repository.manage']?.[stage] ?? 'owner';
        expect(seen.json().repository.hook !== null, `${role} on ${stage}`).toBe(allowed(role, least));
      }
    }
  });

  it('an outsider cannot create an instance in the project of another organization', async () => {
    const answer = await as(t, people.outsider)('POST', '/api/v1/instances', {
      project: world.projectId,
      name: 'spy',
      stage: 'staging',
      memoryMb: 768,
      adminLogin: 'o@acme.test',
    });
    expect(answer.statusCode).toBe(404);
  });

  it('GET /me says what the API allows, per stage, so the UI shows no action the API refuses', async () => {
    for (const role of roles) {
      const me = (await as(t, people[role])('GET', '/api/v1/me')).json();
      const acme = me.organizations.find((o: { id: string }) => o.id === world.organizationId);
      expect(acme.role).toBe(role);
      expect(acme.subscription).toBeNull();
      for (const [permission, least] of Object.entries(table)) {
        expect(acme.permissions.includes(permission), `${role} ${permission}`).toBe(allowed(role, least.staging));
        expect(acme.permissions.includes(`${permission}@production`), `${role} ${permission}@production`).toBe(
          allowed(role, least.production),
        );
      }
      expect(acme.permissions.includes('audit.view')).toBe(allowed(role, 'admin'));
      expect(acme.permissions.includes('billing.manage')).toBe(role === 'owner');
    }
  });

  it('the organization trail is read by admins and owners only', async () => {
    // Inviting is audited with the organization's id; only admins+ read others' events of it.
    for (const role of roles) {
      const events = (
        await as(t, people[role])('GET', `/api/v1/audit?organization=${world.organizationId}&limit=200`)
      ).json().events as { action: string; actor: { id: string | null } }[];
      const othersEvents = events.filter((e) => e.actor.id !== people[role].userId);
      if (allowed(role, 'admin')) expect(othersEvents.length, role).toBeGreaterThan(0);
      else expect(othersEvents, role).toEqual([]);
    }
  });

  it('an organization token reaches nothing of another organization, even one its user owns', async () => {
    // The owner of acme joins globex as an admin.
    const invited = await as(t, people.outsider)('POST', `/api/v1/organizations/${other.organizationId}/members`, {
      email: 'owner@acme.test',
      role: 'admin',
    });
    expect(invited.statusCode, invited.body).toBe(201);
    const accepted = await as(t, people.owner)('POST', `/api/v1/me/invitations/${invited.json().invitation.id}/accept`);
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect((await as(t, people.owner)('GET', `/api/v1/instances/${other.instances.staging}`)).statusCode).toBe(200);

    const made = await as(t, people.owner)('POST', '/api/v1/tokens', {
      name: 'acme ci',
      organizationId: world.organizationId,
    });
    expect(made.statusCode, made.body).toBe(201);
    const call = withToken(t, made.json().secret);
    expect((await call('GET', `/api/v1/instances/${world.instances.staging}`)).statusCode).toBe(200);
    for (const url of [
      `/api/v1/instances/${other.instances.staging}`,
      `/api/v1/projects/${other.projectId}`,
      `/api/v1/organizations/${other.organizationId}/members`,
      `/api/v1/instances/${other.instances.production}/backups`,
    ]) {
      expect((await call('GET', url)).statusCode, url).toBe(404);
    }
    const listed = (await call('GET', '/api/v1/instances')).json().instances as { id: string }[];
    const acmeInstances = [world.instances.production, world.instances.staging, code.staging.instanceId];
    expect(listed.map((i) => i.id).sort()).toEqual(acmeInstances.sort());
  });
});
