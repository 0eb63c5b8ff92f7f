import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const screenshots = join(root, 'test-results', 'screenshots');
const STEP_TIMEOUT = 60_000;

const admin = { name: 'Ada Admiral', email: 'ada@example.com' };
const member = { name: 'Bob Builder', email: 'bob@example.com' };

let t: TestApp;
let browser: Browser;
let page: Page;
let baseUrl: string;
const pageErrors: string[] = [];

async function snap(name: string): Promise<void> {
  // Toasts from earlier steps would cover the page in the picture.
  // A toast may time out on its own between the listing and the click.
  for (const dismiss of await page.getByRole('button', { name: 'Dismiss' }).all()) {
    await dismiss.click({ timeout: 2000 }).catch(() => undefined);
  }
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

const nav = (label: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label });

beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the web UI', () => {
  it(
    'creates the first administrator from the setup link and lands signed in',
    async () => {
      const link = await t.services.setup.issueLink(baseUrl);
      if (!link) throw new Error('no setup link: the database already has an admin');
      await page.goto(link);
      await page.getByRole('heading', { name: "Create Marina's first administrator" }).waitFor();
      await page.getByLabel('Name').fill(admin.name);
      await page.getByLabel('Email').fill(admin.email);
      await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
      await page.getByLabel('Confirm password').fill(STRONG_PASSWORD);
      await snap('01-setup');
      await page.getByRole('button', { name: 'Create administrator' }).click();

      await page.waitForURL(`${baseUrl}/organizations`);
      const user = page.getByTestId('current-user');
      await user.getByText(admin.email).waitFor();
      expect(await user.textContent()).toContain('platform admin');
      await page.getByRole('heading', { name: 'No organizations yet' }).waitFor();
      await snap('02-organizations-empty');
    },
    STEP_TIMEOUT,
  );

  it(
    'signs out, refuses a wrong password and signs in again',
    async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(`${baseUrl}/login`);
      await page.getByLabel('Email').fill(admin.email);
      await page.getByLabel('Password').fill('not the right password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').getByText('Email or password is wrong.').waitFor();
      await snap('03-login-error');

      await page.getByLabel('Password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${baseUrl}/organizations`);
      await page.getByTestId('current-user').getByText(admin.email).waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'creates an organization and opens it',
    async () => {
      await page.getByRole('button', { name: 'New organization' }).click();
      const dialog = page.getByRole('dialog', { name: 'New organization' });
      await dialog.getByLabel('Name').fill('Acme Corp');
      expect(await dialog.getByLabel('Slug').inputValue()).toBe('acme-corp');
      await snap('04-organization-create');
      await dialog.getByRole('button', { name: 'Create organization' }).click();
      await page.waitForURL(`${baseUrl}/organizations/acme-corp`);

      await nav('Organizations').click();
      await page.getByRole('link', { name: 'Acme Corp' }).waitFor();
      await snap('05-organizations');
      await page.getByRole('link', { name: 'Acme Corp' }).click();
      await page.waitForURL(`${baseUrl}/organizations/acme-corp`);
      await page.getByRole('heading', { name: 'Acme Corp' }).waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'invites a member without any password: the invitee opens the link and chooses their own',
    async () => {
      await page.getByRole('button', { name: 'Invite' }).click();
      const dialog = page.getByRole('dialog', { name: 'Invite member' });
      await dialog.getByLabel('Email').fill(member.email);
      await dialog.getByLabel('Role').selectOption('admin');
      expect(await dialog.locator('input[type="password"]').count()).toBe(0);
      await snap('06-member-invite');
      await dialog.getByRole('button', { name: 'Send invitation' }).click();
      await dialog.waitFor({ state: 'detached' });

      // No SMTP here: the invitation waits, and the member list does not show them yet.
      const pending = page
        .getByRole('table', { name: 'Pending invitations' })
        .getByRole('row')
        .filter({ hasText: member.email });
      await pending.getByText('not emailed').waitFor();
      expect(await page.getByRole('table', { name: 'Members' }).count()).toBe(0);

      // Only a platform admin gets a link, and only on request.
      await pending.getByRole('button', { name: `Get link for ${member.email}` }).click();
      const linkDialog = page.getByRole('dialog', { name: 'Invitation link' });
      await linkDialog.getByRole('button', { name: 'Issue a link' }).click();
      const link = await linkDialog.getByLabel('Invitation link').inputValue();
      expect(link).toMatch(/\/invite#[A-Za-z0-9_-]{43}$/);
      await linkDialog.getByRole('button', { name: 'Done' }).click();

      const invitee = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      try {
        const invitePage = await invitee.newPage();
        // The link is built on MARINA_PUBLIC_URL; the test server listens on a port of its own.
        expect(link.startsWith(`${t.config.publicUrl}/invite#`)).toBe(true);
        await invitePage.goto(`${baseUrl}/invite#${link.split('#')[1]}`);
        await invitePage.getByRole('heading', { name: 'Accept your invitation' }).waitFor();
        await invitePage.getByText(`invited ${member.email} to join Acme Corp as admin`).waitFor();
        await invitePage.getByLabel('Name').fill(member.name);
        await invitePage.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
        await invitePage.getByLabel('Confirm password').fill(STRONG_PASSWORD);
        await invitePage.getByRole('button', { name: 'Join Acme Corp' }).click();
        // Accepting signs in: the invitee lands on the organization they joined.
        await invitePage.waitForURL(/\/organizations\/[a-z0-9-]+$/);
        await invitePage.getByRole('heading', { name: 'Acme Corp' }).waitFor();
      } finally {
        await invitee.close();
      }

      await page.reload();
      const row = page.getByRole('table', { name: 'Members' }).getByRole('row').filter({ hasText: member.email });
      await row.getByText('active').waitFor();
      expect(await row.getByLabel(`Role of ${member.email}`).inputValue()).toBe('admin');
      expect(await page.getByRole('table', { name: 'Pending invitations' }).count()).toBe(0);
      await snap('07-organization');
    },
    STEP_TIMEOUT,
  );

  it(
    'lets the platform admin disable an account and enable it again',
    async () => {
      const row = page.getByRole('table', { name: 'Members' }).getByRole('row').filter({ hasText: member.email });
      await row.getByRole('button', { name: `Disable ${member.email}` }).click();
      await page
        .getByRole('dialog', { name: 'Disable account?' })
        .getByRole('button', { name: 'Disable account' })
        .click();
      await row.getByText('disabled').waitFor();
      const refused = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: member.email, password: STRONG_PASSWORD },
      });
      expect(refused.json().error.code).toBe('MARINA_E_ACCOUNT_DISABLED');
      await row.getByRole('button', { name: `Enable ${member.email}` }).click();
      await row.getByText('active').waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'shows the audit trail and filters it by category',
    async () => {
      await nav('Audit log').click();
      await page.waitForURL(`${baseUrl}/audit`);
      const actions = page.getByTestId('audit-action');
      await actions.first().waitFor();
      const all = await actions.allTextContents();
      for (const action of ['organization.create', 'invitation.create', 'session.login', 'user.create_admin']) {
        expect(all).toContain(action);
      }
      await snap('08-audit');

      await page.getByLabel('Category').selectOption('organization');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect
        .poll(
          async () => {
            // Non-empty: an empty table while the filtered page loads must not count as filtered.
            const shown = await actions.allTextContents();
            return shown.length > 0 && shown.every((a) => a.startsWith('organization.'));
          },
          {
            timeout: 10_000,
          },
        )
        .toBe(true);
      const filtered = await actions.allTextContents();
      expect(filtered).toContain('organization.create');
      expect(filtered).not.toContain('invitation.create');
      await snap('09-audit-filtered');
    },
    STEP_TIMEOUT,
  );

  it(
    'creates an API token whose secret is shown once',
    async () => {
      await nav('Settings').click();
      await page.waitForURL(`${baseUrl}/settings`);
      await page.getByRole('heading', { name: 'No API tokens' }).waitFor();
      await page.getByRole('button', { name: 'New token' }).click();
      const create = page.getByRole('dialog', { name: 'New API token' });
      await create.getByLabel('Token name').fill('deploy pipeline');
      await create.getByLabel('Expires after (days)').fill('90');
      await create.getByLabel('Access').selectOption('read');
      await create.getByRole('button', { name: 'Create token' }).click();

      const shown = page.getByRole('dialog', { name: 'Token created' });
      const secret = await shown.getByLabel('API token secret').inputValue();
      expect(secret).toMatch(/^mrn_[A-Za-z0-9_-]{43}$/);
      await snap('10-token-created');
      await shown.getByRole('button', { name: 'I have copied it' }).click();
      await shown.waitFor({ state: 'detached' });

      const row = page
        .getByRole('table', { name: 'API tokens' })
        .getByRole('row')
        .filter({ hasText: 'deploy pipeline' });
      await row.getByText('active').waitFor();
      await row.getByText('read-only').waitFor();
      expect(await page.content()).not.toContain(secret);
      await snap('11-settings-tokens');
    },
    STEP_TIMEOUT,
  );

  it(
    'changes the password, and a wrong current password does not end the session',
    async () => {
      await page.getByRole('tab', { name: 'Password' }).click();
      await page.getByLabel('Current password').fill('this is not my password');
      await page.getByLabel('New password', { exact: true }).fill('another long passphrase 42');
      await page.getByLabel('Confirm new password').fill('another long passphrase 42');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('alert').getByText('The current password is wrong.').first().waitFor();
      expect(page.url()).toBe(`${baseUrl}/settings?tab=password`);
      await snap('12-settings-password-error');

      await page.getByLabel('Current password').fill(STRONG_PASSWORD);
      await page.getByLabel('Also revoke all my API tokens').check();
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByText('Password changed.').waitFor();
      expect(await t.db.selectFrom('api_tokens').select('id').execute()).toEqual([]);
      await snap('13-settings-password');
    },
    STEP_TIMEOUT,
  );

  it(
    'shows empty lists with what to do next, and stays usable on a narrow window',
    async () => {
      await nav('Instances').click();
      await page.getByRole('heading', { name: 'No instances yet' }).waitFor();
      await nav('Backups').click();
      await page.getByRole('heading', { name: 'No backups yet' }).waitFor();
      await snap('14-backups');

      await page.setViewportSize({ width: 920, height: 800 });
      await nav('Audit log').click();
      await page.getByTestId('audit-action').first().waitFor();
      await snap('15-audit-narrow');
      expect(pageErrors).toEqual([]);
    },
    STEP_TIMEOUT,
  );
});
