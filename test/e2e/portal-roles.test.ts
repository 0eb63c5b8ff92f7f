import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemberRole, Stage } from '../../src/db/schema.js';
import { roleAtLeast } from '../../src/platform/access.js';
import { minimumRole, type Permission, permissionNames } from '../../src/platform/permissions.js';
import {
  as,
  memberBrowser,
  type Browser as Session,
  STRONG_PASSWORD,
  sessionCookie,
  type TestApp,
} from '../helpers/app.js';
import { launchChromium, screenshots } from '../helpers/browser.js';
import { removeNamespace, requireDocker, startDockerMarina, TEST_IMAGES, testNamespace } from '../helpers/docker.js';
import { makeOrganizationWithAdmin, makeProject, requestInstance } from '../helpers/factories.js';
import { followJob } from '../helpers/jobs.js';

/**
 * The customer's portal for each role, in a real Chromium against real Docker and PostgreSQL with
 * Marina's Odoo stand-in (a production and a staging instance in one project): which navigation
 * it shows and hides, which action buttons (`data-permission`) each instance page offers, and —
 * for every action hidden from a role — the API call it would make refused. Both sides are driven
 * by the server's one permission table (src/platform/permissions.ts), so the UI and the API cannot
 * disagree without this test failing.
 */
const STEP_TIMEOUT = 90_000;
const JOB_TIMEOUT = 180_000;
const roles: MemberRole[] = ['owner', 'admin', 'developer', 'viewer'];
const stages = ['production', 'staging'] as const satisfies readonly Stage[];

/** What the table says a role may do on an instance of a stage (or organization-wide without one). */
const allowed = (role: MemberRole, permission: Permission, stage?: Stage) =>
  roleAtLeast(role, minimumRole(permission, stage));

const namespace = testNamespace();
let t: TestApp;
let admin: Session;
let baseUrl: string;
let browser: Browser;
let project: { id: string };
const instances = {} as Record<(typeof stages)[number], { id: string; name: string }>;
const people = {} as Record<MemberRole, Session>;
const pageErrors: string[] = [];

const emailOf = (role: MemberRole) => `${role}@acme.test`;

async function snap(page: Page, name: string) {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(screenshots, `portal-${name}.png`), fullPage: true });
}

/** A fresh browser signed in through the login page; a customer lands on their organization. */
async function signedIn(email: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(STRONG_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${baseUrl}/organizations/acme`);
  return { context, page };
}

const mainNav = (page: Page) => page.getByRole('navigation', { name: 'Main' });
const navLinks = async (page: Page) =>
  (await mainNav(page).getByRole('link').allTextContents()).map((text) => text.replace(/Soon$/, '').trim());

/** Counts elements until the count is what is expected, then checks it stays so (late renders). */
async function settledCount(page: Page, selector: string, expected: (n: number) => boolean): Promise<number> {
  await expect.poll(async () => expected(await page.locator(selector).count()), { timeout: 15_000 }).toBe(true);
  await page.waitForTimeout(400);
  return page.locator(selector).count();
}

/**
 * Each permission the instance page shows a control for: the tab it lives on, and the API call the
 * control makes (sent only when the role is refused, so nothing is changed by the test).
 */
const instanceControls: {
  permission: Permission;
  tab: string | null;
  /** The stage whose rule applies (repositories: the project has a production instance). */
  ruleStage?: Stage;
  refused(call: ReturnType<typeof as>, instanceId: string): Promise<{ statusCode: number; body: string }>;
}[] = [
  {
    permission: 'instance.operate',
    tab: null,
    refused: (call, id) => call('POST', `/api/v1/instances/${id}/restart`, {}),
  },
  {
    permission: 'instance.credentials',
    tab: null,
    refused: (call, id) => call('POST', `/api/v1/instances/${id}/credentials`),
  },
  {
    permission: 'instance.logs',
    tab: null,
    refused: (call, id) => call('GET', `/api/v1/instances/${id}/logs`),
  },
  {
    permission: 'backup.manage',
    tab: 'backups',
    refused: (call, id) => call('POST', `/api/v1/instances/${id}/backups`, { format: 'native' }),
  },
  {
    permission: 'repository.manage',
    tab: 'repositories',
    ruleStage: 'production',
    refused: (call) =>
      call('POST', `/api/v1/projects/${project.id}/repositories`, {
        url: 'https://git.example.test/acme/addons.git',
        branch: 'main',
      }),
  },
];

beforeAll(async () => {
  await requireDocker();
  const marina = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin });
  ({ t, admin, baseUrl } = marina);
  const call = as(t, admin);
  project = await makeProject(call, { name: 'erp' });
  // One after the other: two provisionings at once on this small machine only slow each other down.
  for (const stage of stages) {
    const created = await requestInstance(call, { project: project.id, name: stage.slice(0, 4), stage });
    const done = await followJob(baseUrl, marina.headers, created.job.id, JOB_TIMEOUT);
    expect(done.job.status, JSON.stringify(done.job)).toBe('succeeded');
    instances[stage] = created.instance;
  }
  for (const role of roles) people[role] = await memberBrowser(t, admin, 'acme', emailOf(role), role);
  browser = await launchChromium();
}, 400_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await removeNamespace(namespace);
}, 120_000);

describe("the customer's portal, role by role", () => {
  it('drives every permission the server knows, or says why not', () => {
    // A permission added to the server's table fails here until this test decides how to check it.
    const driven = [...instanceControls.map((c) => c.permission), 'team.manage', 'audit.view', 'billing.manage'];
    const everyMember = ['instance.view', 'project.view', 'backup.view', 'domain.view', 'team.view'];
    // Domains exist only with the edge proxy (test/e2e/domains-ui.test.ts); resizing has its own tests;
    // alert channels and rules: test/e2e/alerts-ui.test.ts drives them as an owner and as a viewer.
    const elsewhere = ['domain.manage', 'instance.resize', 'alerts.manage'];
    expect([...driven, ...everyMember, ...elsewhere].sort()).toEqual([...permissionNames].sort());
    for (const permission of everyMember) expect(roles.every((r) => allowed(r, permission as Permission))).toBe(true);
  });

  for (const role of roles) {
    it(
      `shows the ${role} the portal's navigation and nothing of the operator's`,
      async () => {
        const { context, page } = await signedIn(emailOf(role));
        try {
          await page.getByRole('heading', { name: 'ACME', level: 1 }).waitFor();
          expect(await mainNav(page).getAttribute('data-sidebar')).toBe('portal');
          const links = await navLinks(page);
          const expected = ['Projects', 'Backups', 'Alerts', 'Team', 'Account'];
          if (allowed(role, 'audit.view')) expected.push('Audit');
          if (allowed(role, 'billing.manage')) expected.push('Billing');
          expect(links.sort()).toEqual(expected.sort());
          for (const operatorOnly of [
            'Instances',
            'Jobs',
            'Destinations',
            'Logs',
            'Organizations',
            'Customers',
            'Audit log',
            'Settings',
            'Hosts',
            'Reconcile',
          ]) {
            expect(links, operatorOnly).not.toContain(operatorOnly);
          }
          await snap(page, `${role}-sidebar`);

          // The team: managing it is for those who may.
          await mainNav(page).getByRole('link', { name: 'Team' }).click();
          await page.waitForURL(`${baseUrl}/organizations/acme/team`);
          await page
            .getByRole('table', { name: 'Members' })
            .getByRole('cell', { name: emailOf('viewer'), exact: true })
            .waitFor();
          const manage = allowed(role, 'team.manage');
          const controls = await settledCount(page, '[data-permission="team.manage"]', (n) =>
            manage ? n > 0 : n === 0,
          );
          expect(controls > 0).toBe(manage);
          if (!manage) {
            const invite = await as(t, people[role])('POST', '/api/v1/organizations/acme/members', {
              email: 'newcomer@acme.test',
              role: 'viewer',
            });
            expect(invite.statusCode, invite.body).toBe(403);
          }
          await snap(page, `${role}-team`);

          // Their own account: password and API tokens, as under the operator's Settings.
          await mainNav(page).getByRole('link', { name: 'Account' }).click();
          await page.waitForURL(`${baseUrl}/account`);
          await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
          expect(await page.getByRole('region', { name: 'You' }).textContent()).toContain(emailOf(role));
          await page.getByRole('button', { name: 'Change password' }).waitFor();
          await page.getByRole('heading', { name: 'API tokens', exact: true }).waitFor();
          await snap(page, `${role}-account`);

          // Billing is the owner's: its invoices and details.
          if (allowed(role, 'billing.manage')) {
            await mainNav(page).getByRole('link', { name: 'Billing' }).click();
            await page.getByRole('region', { name: 'Invoices' }).waitFor();
            await snap(page, `${role}-billing`);
          }
        } finally {
          await context.close();
        }
      },
      STEP_TIMEOUT,
    );

    it(
      `offers the ${role} on each instance page exactly what the API lets them do`,
      async () => {
        const { context, page } = await signedIn(emailOf(role));
        const call = as(t, people[role]);
        try {
          for (const stage of stages) {
            const instance = instances[stage];
            for (const control of instanceControls) {
              const may = allowed(role, control.permission, control.ruleStage ?? stage);
              const query = control.tab ? `?tab=${control.tab}` : '';
              await page.goto(`${baseUrl}/instances/${instance.id}${query}`);
              await page.getByRole('heading', { name: instance.name, level: 1 }).waitFor();
              const count = await settledCount(page, `[data-permission="${control.permission}"]`, (n) =>
                may ? n > 0 : n === 0,
              );
              expect(count > 0, `${role} ${stage} ${control.permission} shown`).toBe(may);
              if (!may) {
                const refused = await control.refused(call, instance.id);
                expect(refused.statusCode, `${role} ${stage} ${control.permission}: ${refused.body}`).toBe(403);
              }
            }
            // What every member may do answers.
            expect((await call('GET', `/api/v1/instances/${instance.id}`)).statusCode).toBe(200);
            await page.goto(`${baseUrl}/instances/${instance.id}`);
            await page.getByRole('heading', { name: instance.name, level: 1 }).waitFor();
            await snap(page, `${role}-${stage}-instance`);
          }
          // A start refused on production is not even offered: the "New production" action follows the rule.
          await page.goto(`${baseUrl}/projects/${project.id}`);
          await page.getByRole('heading', { name: 'erp', level: 1 }).waitFor();
          const development = allowed(role, 'instance.operate', 'development');
          expect(
            await settledCount(page, 'a[data-permission="instance.operate"]', (n) => (development ? n > 0 : n === 0)),
          ).toBe(development ? 1 + (allowed(role, 'instance.operate', 'production') ? 1 : 0) : 0);
          await snap(page, `${role}-project`);
        } finally {
          await context.close();
        }
      },
      STEP_TIMEOUT * 2,
    );
  }
});

describe('outsiders and support', () => {
  it(
    "shows an admin of another organization nothing of this one: its pages and API answer 'not found'",
    async () => {
      const { admin: stranger } = await makeOrganizationWithAdmin(t, admin, { slug: 'other', name: 'Other' });
      const call = as(t, stranger);
      const production = instances.production;
      for (const [method, url] of [
        ['GET', `/api/v1/instances/${production.id}`],
        ['POST', `/api/v1/instances/${production.id}/restart`],
        ['POST', `/api/v1/instances/${production.id}/credentials`],
        ['GET', `/api/v1/organizations/acme/members`],
        ['GET', `/api/v1/projects/${project.id}`],
      ] as const) {
        const answer = await call(method, url, method === 'POST' ? {} : undefined);
        expect(answer.statusCode, `${method} ${url}: ${answer.body}`).toBe(404);
      }
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        await page.goto(`${baseUrl}/login`);
        await page.getByLabel('Email').fill('admin@other.test');
        await page.getByLabel('Password').fill(STRONG_PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(`${baseUrl}/organizations/other`);
        await page.goto(`${baseUrl}/instances/${production.id}`);
        await page
          .getByRole('alert')
          .getByText(/not found/i)
          .waitFor();
        expect(await page.locator('[data-permission]').count()).toBe(0);
        await page.goto(`${baseUrl}/organizations/acme`);
        await page
          .getByRole('alert')
          .getByText(/not found/i)
          .waitFor();
        expect(await page.locator('body').textContent()).not.toContain('ACME');
        await snap(page, 'outsider');
      } finally {
        await context.close();
      }
    },
    STEP_TIMEOUT,
  );

  it(
    'shows a support session opened as the organization with its banner, refuses its writes and ends it',
    async () => {
      const opened = await as(t, admin)('POST', '/api/v1/organizations/acme/impersonate', {
        reason: 'Ticket 42: the customer cannot find their backups',
      });
      expect(opened.statusCode, opened.body).toBe(201);
      const support: Session = {
        cookie: sessionCookie(opened),
        csrf: opened.json<{ csrfToken: string }>().csrfToken,
        userId: admin.userId,
      };
      // It reads as the owner does, and changes nothing.
      const call = as(t, support);
      expect((await call('GET', `/api/v1/instances/${instances.production.id}`)).statusCode).toBe(200);
      for (const [url, body] of [
        [`/api/v1/instances/${instances.staging.id}/restart`, {}],
        [`/api/v1/instances/${instances.production.id}/backups`, { format: 'native' }],
        ['/api/v1/organizations/acme/members', { email: 'support@acme.test', role: 'viewer' }],
      ] as const) {
        const refused = await call('POST', url, body);
        expect(refused.statusCode, `${url}: ${refused.body}`).toBe(403);
        expect(refused.json<{ error: { code: string } }>().error.code).toBe('MARINA_E_FORBIDDEN');
      }

      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      try {
        const [name, value] = support.cookie.split('=') as [string, string];
        await context.addCookies([{ name, value, url: baseUrl }]);
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        await page.goto(`${baseUrl}/`);
        await page.waitForURL(`${baseUrl}/organizations/acme`);
        const banner = page.getByTestId('impersonation-banner');
        expect(await banner.textContent()).toContain('Viewing ACME as owner (read-only)');
        expect(await mainNav(page).getAttribute('data-sidebar')).toBe('portal');
        expect(await navLinks(page)).not.toContain('Settings');
        await snap(page, 'support-view');
        await banner.getByRole('button', { name: 'End' }).click();
        await page.waitForURL(`${baseUrl}/customers`);
        expect(await page.getByTestId('impersonation-banner').count()).toBe(0);
        expect(await mainNav(page).getAttribute('data-sidebar')).toBe('operator');
        expect(await navLinks(page)).toContain('Customers');
      } finally {
        await context.close();
      }
      // The view ended: its cookie opens nothing any more.
      expect((await call('GET', '/api/v1/me')).statusCode).toBe(401);
    },
    STEP_TIMEOUT,
  );

  it(
    'shows a trial, then a suspension with its kind (never the reason) and the start refused, saying why',
    async () => {
      const call = as(t, admin);
      const organizationId = (await call('GET', '/api/v1/organizations/acme')).json<{ organization: { id: string } }>()
        .organization.id;
      const plan = await call('POST', '/api/v1/plans', { slug: 'starter', name: 'Starter', trialDays: 14 });
      expect(plan.statusCode, plan.body).toBe(201);
      const planId = plan.json<{ plan: { id: string } }>().plan.id;
      const given = await call('POST', `/api/v1/organizations/${organizationId}/subscription`, { planId, trial: true });
      expect(given.statusCode, given.body).toBe(201);

      const { context, page } = await signedIn(emailOf('owner'));
      try {
        const trial = page.getByTestId('trial-banner');
        expect(await trial.textContent()).toContain('Trial of Starter');
        expect(await page.getByTestId('suspended-banner').count()).toBe(0);

        const suspended = await call('POST', `/api/v1/organizations/${organizationId}/subscription/suspend`, {
          reason: 'Private note: chargeback on card 4242',
        });
        expect(suspended.statusCode, suspended.body).toBe(200);
        // Suspension stops the instances; once stopped, only the suspension keeps Start disabled.
        await expect
          .poll(
            async () =>
              (await call('GET', `/api/v1/instances/${instances.staging.id}`)).json<{ instance: { status: string } }>()
                .instance.status,
            { timeout: JOB_TIMEOUT, interval: 1000 },
          )
          .toBe('stopped');
        await page.goto(`${baseUrl}/instances/${instances.staging.id}`);
        const banner = page.getByTestId('suspended-banner');
        expect(await banner.getAttribute('data-kind')).toBe('admin');
        expect(await banner.textContent()).toContain('Suspended.');
        expect(await page.locator('body').textContent()).not.toContain('chargeback');
        const start = page.locator('.instance-actions').getByRole('button', { name: 'Start', exact: true });
        await expect.poll(async () => start.getAttribute('title')).toMatch(/suspended/);
        expect(await start.isDisabled()).toBe(true);
        // The server says the same.
        const refused = await as(t, people.owner)('POST', `/api/v1/instances/${instances.staging.id}/start`, {});
        expect(refused.json<{ error: { code: string } }>().error.code).toBe('MARINA_E_ORGANIZATION_SUSPENDED');
        await snap(page, 'owner-suspended');
      } finally {
        await context.close();
      }
    },
    JOB_TIMEOUT,
  );

  it('raised no error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
