import { createHash, X509Certificate } from 'node:crypto';
import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/platform/context.js';
import { as, type Browser as Session, type TestApp } from '../helpers/app.js';
import { describePageOnFailure, launchChromium, screenshots } from '../helpers/browser.js';
import { removeNamespace, requireDocker, startDockerMarina, TEST_IMAGES, testNamespace } from '../helpers/docker.js';
import { edgeRequest } from '../helpers/edge-client.js';
import { type EdgeStack, startEdgeStack } from '../helpers/edge-stack.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { freePort, root } from '../helpers/process.js';
import { links, type SmtpCapture, startSmtpCapture } from '../helpers/smtp-capture.js';

/**
 * Done means, for sign-up: a stranger fills /signup in a real Chromium against a real Marina (the
 * Odoo stand-in in Docker, the edge on: Caddy, Pebble, pebble-challtestsrv), opens the link from
 * the mail a real SMTP server captured, watches the instance being made, is shown its credentials
 * once, and logs in to that Odoo at https://<chosen name>.<base domain> with a certificate Pebble
 * issued on demand. Then the same through the test OpenID provider, with no mail at all.
 */

const BASE_DOMAIN = 'apps.marina.test';
const PROVISION_TIMEOUT = 240_000;
const after = '/work/screens/after';
const namespace = testNamespace();
let stack: EdgeStack;
let smtp: SmtpCapture;
let provider: TestOidcProvider;
let webDir: string;
let t: TestApp;
let admin: Session;
let baseUrl: string;
let browser: Browser;
const pageErrors: string[] = [];
let pagesMade = 0;

async function shoot(page: Page, name: string): Promise<void> {
  const file = `W-${name}.png`;
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(screenshots, file), fullPage: true });
  await mkdir(after, { recursive: true });
  await copyFile(join(screenshots, file), join(after, file));
}

async function newPage(target: Browser = browser): Promise<Page> {
  const context = await target.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  describePageOnFailure(page, `signup-${++pagesMade}`);
  return page;
}

/** The verification link mailed to `email` (the outbox drained until it is there). */
async function verifyLink(email: string): Promise<string> {
  const until = Date.now() + 30_000;
  for (;;) {
    await t.services.notices.drain();
    const message = smtp.messages.find((m) => m.to.includes(email));
    const link = message ? links(message).find((l) => l.includes('/signup/verify#token=')) : undefined;
    if (link) return link;
    if (Date.now() > until) throw new Error(`no verification mail for ${email}: ${JSON.stringify(smtp.messages)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Fills the company part of the form and waits until the live check says the address is free. */
async function nameCompany(page: Page, organization: string, label: string): Promise<void> {
  // The page's first answer is slow when the machine is loaded; each step after has the default time.
  await page.getByLabel('Organization name').waitFor({ timeout: 60_000 });
  await page.getByLabel('Organization name').fill(organization);
  // The address follows the organization's name until it is typed by hand.
  await expect(page.getByLabel('Address').inputValue()).resolves.toBe(label);
  const check = page.getByTestId('subdomain-check');
  await check.and(page.locator('[data-available="true"]')).waitFor();
  await expect(check.textContent()).resolves.toContain(`${label}.${BASE_DOMAIN} is available.`);
}

/** The welcome page after the job: the credentials it shows once. */
async function shownCredentials(page: Page): Promise<{ url: string; login: string; password: string }> {
  const shown = page.getByTestId('signup-credentials');
  await shown.waitFor({ timeout: PROVISION_TIMEOUT });
  return {
    url: await shown.getByLabel('Address').inputValue(),
    login: await shown.getByLabel('Login').inputValue(),
    password: await shown.getByLabel('Password').inputValue(),
  };
}

/** What the page's own session gets when it opens the same credential link again. */
async function reopen(page: Page, token: string): Promise<number> {
  return page.evaluate(async (linkToken) => {
    const me = (await (await fetch('/api/v1/me')).json()) as { csrfToken: string };
    const answer = await fetch('/api/v1/credential-links/open', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-marina-csrf': me.csrfToken },
      body: JSON.stringify({ token: linkToken }),
    });
    return answer.status;
  }, token);
}

/** Captures the token the welcome page sends to /credential-links/open. */
function credentialTokenOf(page: Page): () => string | null {
  let token: string | null = null;
  page.on('request', (request) => {
    if (request.url().endsWith('/api/v1/credential-links/open') && request.method() === 'POST')
      token = (JSON.parse(request.postData() ?? '{}') as { token?: string }).token ?? null;
  });
  return () => token;
}

beforeAll(async () => {
  await requireDocker();
  // Our own copy of the built UI: another engineer's rebuild of dist/web cannot break this run.
  webDir = await mkdtemp(join(tmpdir(), 'marina-signup-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  stack = await startEdgeStack();
  smtp = await startSmtpCapture();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const marina = await startDockerMarina(
    namespace,
    {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
      MARINA_WEB_DIR: webDir,
      ...stack.marinaEnv(),
      MARINA_BASE_DOMAIN: BASE_DOMAIN,
      MARINA_EDGE_DNS_PORT: '0',
      // The proxy asks Marina before every issuance; the mails link to where the browser is.
      MARINA_PORT: String(port),
      MARINA_PUBLIC_URL: baseUrl,
    },
    { oidc: { allowInsecureIssuers: true } },
  );
  ({ t, admin } = marina);
  const api = as(t, admin);
  await t.services.settings.setSmtp(systemContext('test'), {
    host: '127.0.0.1',
    port: smtp.port,
    security: 'none',
    from: 'Marina <marina@hosting.test>',
    username: null,
    password: null,
  });
  const plan = await api('POST', '/api/v1/plans', {
    slug: 'starter',
    name: 'Starter',
    description: 'One Odoo for a small team.',
    public: true,
    trialDays: 14,
    prices: [{ currency: 'EUR', period: 'month', amountMinor: 1990 }],
  });
  expect(plan.statusCode, plan.body).toBe(201);
  // A template on offer (not chosen below: the stand-in installs no apps).
  const template = await api('POST', '/api/v1/odoo-templates', {
    slug: 'retail',
    name: 'Shop & stock',
    description: 'Point of sale, inventory and invoicing, ready to sell.',
    odooVersion: '17.0',
    modules: ['stock'],
    public: true,
  });
  expect(template.statusCode, template.body).toBe(201);
  const opened = await api('PUT', '/api/v1/settings/signup', {
    enabled: true,
    refusedDomains: ['throwaway.test'],
    reservedNames: ['shop'],
    perAddressPerDay: 3,
    perDomainPerDay: 20,
    perIpPerHour: 10,
  });
  expect(opened.statusCode, opened.body).toBe(200);
  const allowed = await api('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] });
  expect(allowed.statusCode, allowed.body).toBe(200);
  provider = await startOidcProvider({ redirectUri: t.services.oidcFlows.redirectUri });
  const added = await api('POST', '/api/v1/oidc-providers', {
    slug: 'corp',
    name: 'Corp SSO',
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
    allowSignup: true,
  });
  expect(added.statusCode, added.body).toBe(201);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await provider?.close();
  await t?.close();
  await smtp?.stop();
  await stack?.stop();
  await removeNamespace(namespace);
  if (webDir) await rm(webDir, { recursive: true, force: true });
}, 120_000);

describe('sign-up in the browser, to a running Odoo behind the edge', { timeout: 400_000 }, () => {
  it('signs up by email, shows the credentials once, and they log in to the new Odoo over https', async () => {
    const email = 'mira@harbor-foods.test';
    const password = 'salted herring on rye bread';
    const page = await newPage();
    const credentialToken = credentialTokenOf(page);
    // As a platform's wildcard record would, the name resolves to the edge before it is signed up
    // for: Marina's uptime probe reaches it through the edge as soon as the Odoo runs, and Caddy's
    // on-demand order for a name Pebble cannot resolve yet is retried only a minute later.
    const hostname = `harbor-foods.${BASE_DOMAIN}`;
    await stack.pointAtEdge(hostname);

    // The way in: the login page links to the form while sign-up is open.
    await page.goto(`${baseUrl}/login`);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(`${baseUrl}/signup`);

    // The live check refuses what cannot be had, and says why.
    await page.getByLabel('Address').fill('shop');
    const check = page.getByTestId('subdomain-check');
    await check.and(page.locator('[data-available="false"]')).waitFor();
    await expect(check.textContent()).resolves.toContain(`shop.${BASE_DOMAIN}`);
    await page.getByLabel('Address').fill('');

    await page.getByLabel('Organization name').fill('Harbor Foods');
    await page.getByLabel('Address').fill('harbor-foods');
    await check.and(page.locator('[data-available="true"]')).waitFor();
    await expect(check.textContent()).resolves.toContain(`harbor-foods.${BASE_DOMAIN} is available.`);
    const plan = page.getByRole('radio', { name: /Starter/ });
    await expect(plan.isChecked()).resolves.toBe(true);
    // A bare Odoo unless a template is picked; the template says which Odoo it is.
    await expect(page.getByRole('radio', { name: 'No template' }).isChecked()).resolves.toBe(true);
    await expect(page.getByRole('radio', { name: /Shop & stock/ }).isChecked()).resolves.toBe(false);
    await page.getByText('Odoo 17.0').waitFor();
    // The price as the currency writes it, from minor units.
    await expect(page.locator('.signup-price').first().textContent()).resolves.toContain('€19.90');
    // No password on this form: it is chosen after the address is confirmed.
    await expect(page.getByLabel('Password', { exact: true }).count()).resolves.toBe(0);
    await page.getByText('You choose your password after confirming your email').waitFor();
    // A refused email domain: the answer lands on the email field, and nothing is sent.
    await page.getByLabel('Work email').fill('mira@throwaway.test');
    await page.getByRole('button', { name: 'Start free trial' }).click();
    await page.getByText('Sign-up with this email address is not accepted.').waitFor();
    await expect(page.getByLabel('Work email').getAttribute('aria-invalid')).resolves.toBe('true');
    expect(page.url()).toBe(`${baseUrl}/signup`);
    await page.getByLabel('Work email').fill(email);
    await shoot(page, 'signup-form');
    await page.getByRole('button', { name: 'Start free trial' }).click();

    await page.waitForURL(`${baseUrl}/signup/sent`);
    await page.getByText('Check your inbox').waitFor();
    await expect(page.getByTestId('signup-sent').textContent()).resolves.toContain(email);
    await shoot(page, 'signup-sent');

    // The mailed link asks for the password; opening it alone makes nothing (a mail scanner may open it).
    const link = await verifyLink(email);
    expect(link.startsWith(`${baseUrl}/signup/verify#token=`)).toBe(true);
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(page.url()).toBe(link);
    const waiting = await t.db.selectFrom('signups').select('status').where('email', '=', email).executeTakeFirst();
    expect(waiting?.status).toBe('pending');
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Confirm password').fill(password);
    await shoot(page, 'signup-verify');
    await page.getByRole('button', { name: 'Create my account' }).click();
    await page.waitForURL(`${baseUrl}/signup/welcome?**`);
    const welcome = page.getByTestId('signup-welcome');
    await page.getByRole('progressbar', { name: 'Provisioning progress' }).waitFor();
    await shoot(page, 'signup-progress');

    const credentials = await shownCredentials(page);
    await expect(welcome.getAttribute('data-job-status')).resolves.toBe('succeeded');
    expect(credentials.url).toBe(`https://harbor-foods.${BASE_DOMAIN}:${stack.httpsPort}`);
    expect(credentials.login).toBe(email);
    expect(credentials.password.length).toBeGreaterThanOrEqual(12);
    await shoot(page, 'signup-credentials');

    // Once: the link the page used is spent, for this very session too.
    const token = credentialToken();
    expect(token).not.toBeNull();
    expect(await reopen(page, token ?? '')).toBe(400);
    await page.reload();
    await page.getByText('The password was shown once already').waitFor();
    expect(await page.content()).not.toContain(credentials.password);

    // The customer's account is the organization's owner, signed in.
    const me = (await page.evaluate(async () => (await fetch('/api/v1/me')).json())) as { user: { email: string } };
    expect(me.user.email).toBe(email);
    await page.getByRole('link', { name: 'Go to your instance page' }).click();
    await page.waitForURL(`${baseUrl}/instances/**`);
    await page.context().close();

    // The mailed link works once: used again (opening sends nothing; the button does), it says so and offers to sign in.
    const again = await newPage();
    await again.goto(link);
    await again.getByLabel('Password', { exact: true }).fill(password);
    await again.getByLabel('Confirm password').fill(password);
    await again.getByRole('button', { name: 'Create my account' }).click();
    await again.getByText('This link no longer works').waitFor();
    await again.getByRole('link', { name: 'Sign in' }).waitFor();
    await shoot(again, 'signup-link-used');
    await again.context().close();

    // The Odoo itself, through the edge: a certificate Pebble issued on demand for the chosen name.
    await t.services.edge.flush();
    const served = await edgeRequest(stack, { hostname, path: '/web/login', timeoutMs: 60_000 }).catch((error) => {
      // What the edge was doing meanwhile (the certificate's order, the proxying), for the log.
      const logs = stack.logs();
      throw new Error(
        `${error.message}\n--- caddy:\n${logs.caddy.slice(-4_000)}\n--- pebble:\n${logs.pebble.slice(-3_000)}\n--- dns:\n${logs.dns.slice(-1_500)}`,
      );
    });
    expect(served.status).toBe(200);
    expect(served.authorized, served.authorizationError ?? '').toBe(true);
    expect(served.certificate?.issuer.CN).toMatch(/^Pebble Intermediate CA /);
    // Chromium trusts exactly that certificate's key, and finds every *.apps.marina.test on loopback.
    const leaf = new X509Certificate(served.certificate?.raw ?? Buffer.alloc(0));
    const spki = createHash('sha256')
      .update(leaf.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64');
    const odooBrowser = await launchChromium([
      `--host-resolver-rules=MAP *.${BASE_DOMAIN} 127.0.0.1`,
      `--ignore-certificate-errors-spki-list=${spki}`,
    ]);
    try {
      const odoo = await newPage(odooBrowser);
      await odoo.goto(`${credentials.url}/web/login`);
      await odoo.locator('#login').fill(credentials.login);
      await odoo.locator('#password').fill(credentials.password);
      await shoot(odoo, 'signup-odoo-login');
      await odoo.getByRole('button', { name: 'Log in' }).click();
      // The stand-in answers a good login with 303 → /web, a bad one with its form and an alert.
      await odoo.waitForURL(`${credentials.url}/web`);
      expect(await odoo.content()).not.toContain('Wrong login/password');
    } finally {
      await odooBrowser.close();
    }
  });

  it('signs up through the OpenID provider, with no mail, and lands on the welcome page', async () => {
    const email = 'olaf@fjord-tools.test';
    const mailsBefore = smtp.messages.length;
    provider.signInAs({ sub: 'olaf', email, email_verified: true });
    const page = await newPage();
    await page.goto(`${baseUrl}/signup`);
    // On a phone: one column, the form first.
    await page.setViewportSize({ width: 390, height: 844 });
    await nameCompany(page, 'Fjord Tools', 'fjord-tools');
    await shoot(page, 'signup-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole('button', { name: 'Sign up with Corp SSO' }).click();

    await page.waitForURL(`${baseUrl}/signup/welcome?**`);
    const credentials = await shownCredentials(page);
    expect(credentials.login).toBe(email);
    expect(credentials.url).toBe(`https://fjord-tools.${BASE_DOMAIN}:${stack.httpsPort}`);
    await shoot(page, 'signup-oidc-welcome');
    const me = (await page.evaluate(async () => (await fetch('/api/v1/me')).json())) as { user: { email: string } };
    expect(me.user.email).toBe(email);
    await t.services.notices.drain();
    // No verification mail: the provider vouched for the address.
    expect(smtp.messages.slice(mailsBefore).filter((m) => /verif|confirm/i.test(m.subject))).toEqual([]);
    await page.context().close();
  });

  it('says so on the welcome page when the first Odoo cannot be made, and shows no credentials', async () => {
    // A template for an Odoo this host has no image for: the provisioning job fails at its first step.
    const unrunnable = await as(t, admin)('POST', '/api/v1/odoo-templates', {
      slug: 'next',
      name: 'Next Odoo',
      description: 'The newest Odoo.',
      odooVersion: '19.0',
      public: true,
    });
    expect(unrunnable.statusCode, unrunnable.body).toBe(201);
    provider.signInAs({ sub: 'nils', email: 'nils@north-labs.test', email_verified: true });
    const page = await newPage();
    await page.goto(`${baseUrl}/signup`);
    await nameCompany(page, 'North Labs', 'north-labs');
    await page.getByRole('radio', { name: /Next Odoo/ }).check();
    await page.getByRole('button', { name: 'Sign up with Corp SSO' }).click();

    await page.waitForURL(`${baseUrl}/signup/welcome?**`);
    await page
      .locator('[data-testid="signup-welcome"][data-job-status="failed"]')
      .waitFor({ timeout: PROVISION_TIMEOUT });
    await page.getByText('Your Odoo could not be created').waitFor();
    await expect(page.getByTestId('signup-credentials').count()).resolves.toBe(0);
    await shoot(page, 'signup-failed');
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });
});
