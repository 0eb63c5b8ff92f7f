import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MemoryRuntime } from '../../src/runtime/memory.js';
import {
  adminBrowser,
  as,
  createTestApp,
  type Browser as Session,
  STRONG_PASSWORD,
  type TestApp,
} from '../helpers/app.js';
import { launchChromium, screenshots, signInPage } from '../helpers/browser.js';
import { removeNamespace, requireDocker, startDockerMarina, TEST_IMAGES, testNamespace } from '../helpers/docker.js';
import { type EdgeStack, edgeStackUnavailable, startEdgeStack } from '../helpers/edge-stack.js';
import { makeOrganization, makeProject, requestInstance } from '../helpers/factories.js';
import { followJob } from '../helpers/jobs.js';
import { root } from '../helpers/process.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/test-ca.js';

/**
 * The instance page's Domains tab in a real Chromium, against a real Marina with the edge on
 * (MARINA_BASE_DOMAIN), the Odoo STAND-IN in Docker, and pebble-challtestsrv as the DNS server
 * Marina verifies domains with: what the page says is what the API and DNS say.
 */

const BASE_DOMAIN = 'apps.marina.test';
const JOB_TIMEOUT = 180_000;
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

interface DomainView {
  id: string;
  hostname: string;
  status: string;
  isPrimary: boolean;
  records: { type: string; name: string; value: string }[];
  ownCertificate: { subject: string; issuer: string; notAfter: string } | null;
}

const namespace = testNamespace();
const unavailable = edgeStackUnavailable();
let stack: EdgeStack;
let webDir: string;
let t: TestApp;
let admin: Session;
let baseUrl: string;
let instance: { id: string; name: string; url: string };
let browser: Browser;
let context: BrowserContext;
let page: Page;
let certificateDir: string;
let certificates: Record<'own' | 'other', TestCertificate>;

const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
  as(t, admin)(method, url, payload);

async function domainsNow(): Promise<{ platform: { hostname: string; url: string }; domains: DomainView[] }> {
  const answer = await api('GET', `/api/v1/instances/${instance.id}/domains`);
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json();
}

async function snap(target: Page, name: string, fullPage = true) {
  for (const dismiss of await target.locator('.toasts').getByRole('button', { name: 'Dismiss' }).all())
    await dismiss.click({ timeout: 1_000 }).catch(() => undefined);
  // A full-page shot draws the fixed header where the page is scrolled to: from the top, it is at the top.
  await target.evaluate('window.scrollTo(0, 0)');
  await target.screenshot({ path: join(screenshots, `domains-${name}.png`), fullPage });
}

const domainCard = (hostname: string) => page.locator(`[data-testid="domain"][data-hostname="${hostname}"]`);
const addForm = () => page.getByRole('form', { name: 'Add a domain' });

/** Each test starts on the tab itself, whatever ran before it. */
async function openTab() {
  await page.goto(`${baseUrl}/instances/${instance.id}?tab=domains`);
  await addForm().waitFor();
}

async function addByApi(hostname: string): Promise<DomainView> {
  const added = await api('POST', `/api/v1/instances/${instance.id}/domains`, { hostname });
  expect(added.statusCode, added.body).toBe(201);
  return added.json().domain;
}

async function domainNow(hostname: string): Promise<DomainView | undefined> {
  return (await domainsNow()).domains.find((d) => d.hostname === hostname);
}

async function addInPage(hostname: string, method?: RegExp) {
  await addForm().getByLabel('Domain name').fill(hostname);
  if (method) await addForm().getByRole('radio', { name: method }).check();
  await addForm().getByRole('button', { name: 'Add domain' }).click();
}

beforeAll(async () => {
  if (unavailable) return;
  await requireDocker();
  // Our own copy of the built UI: another engineer's rebuild of dist/web cannot break this run
  // (DOMAINS_UI_BUILT_WEB: another build, e.g. a deliberately broken one, to see the tests fail).
  webDir = await mkdtemp(join(tmpdir(), 'marina-domains-ui-web-'));
  await cp(process.env.DOMAINS_UI_BUILT_WEB ?? join(root, 'dist', 'web'), webDir, { recursive: true });
  // Made before Marina starts: its test clock stands still at its start, and a certificate is
  // refused before its notBefore.
  certificateDir = await mkdtemp(join(tmpdir(), 'marina-domains-ui-cert-'));
  certificates = {
    own: await makeSelfSignedCertificate(certificateDir, 'own', { names: ['cert.example.test'], days: 30 }),
    other: await makeSelfSignedCertificate(certificateDir, 'other', { names: ['cert.example.test'], days: 30 }),
  };
  stack = await startEdgeStack();
  const marina = await startDockerMarina(namespace, {
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    MARINA_WEB_DIR: webDir,
    MARINA_BASE_DOMAIN: BASE_DOMAIN,
    ...stack.marinaEnv(),
  });
  ({ t, admin, baseUrl } = marina);
  const project = await makeProject(api, { name: 'shop' });
  const made = await requestInstance(api, { project: project.id, name: 'staging', stage: 'staging' });
  const { job } = await followJob(baseUrl, marina.headers, made.job.id, JOB_TIMEOUT);
  expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
  instance = (await api('GET', `/api/v1/instances/${made.instance.id}`)).json().instance;
  browser = await launchChromium();
  context = await browser.newContext({
    viewport: DESKTOP,
    locale: 'en-US',
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await stack?.stop();
  if (!unavailable) await removeNamespace(namespace);
  if (webDir) await rm(webDir, { recursive: true, force: true });
  if (certificateDir) await rm(certificateDir, { recursive: true, force: true });
}, 120_000);

describe.skipIf(unavailable)('the Domains tab of an instance', () => {
  it('shows the platform name, refuses bad names with the server’s reason, and changes nothing', async () => {
    await page.goto(`${baseUrl}/instances/${instance.id}`);
    await page.getByRole('tab', { name: 'Domains' }).click();
    await page.waitForURL(/\?tab=domains$/);
    const { platform, domains: before } = await domainsNow();
    expect(platform.hostname.endsWith(`.${BASE_DOMAIN}`)).toBe(true);
    const platformLink = page.getByTestId('platform-url');
    await expect.poll(() => platformLink.textContent()).toBe(platform.url);
    expect(await platformLink.getAttribute('href')).toBe(platform.url);
    // The instance's address in the header is a link (the platform name until a domain is primary).
    const url = (await api('GET', `/api/v1/instances/${instance.id}`)).json().instance.url as string;
    await page.locator('.page-header').getByRole('link', { name: url }).waitFor();
    if (!before.some((d) => d.isPrimary)) expect(url).toContain(platform.hostname);

    for (const bad of ['*.example.test', '203.0.113.9', `shop.${BASE_DOMAIN}`, 'no spaces.example.test', 'www']) {
      const refused = await api('POST', `/api/v1/instances/${instance.id}/domains`, { hostname: bad });
      expect(refused.statusCode, `${bad}: ${refused.body}`).toBeGreaterThanOrEqual(400);
      const reason: string = refused.json().error.message;
      await addInPage(bad);
      const field = addForm().locator('.field-error');
      await expect.poll(() => field.textContent(), { message: bad }).toContain(reason.replace(/\.$/, ''));
      // What was typed stays, to be fixed.
      expect(await addForm().getByLabel('Domain name').inputValue()).toBe(bad);
    }
    await snap(page, 'refused');
    expect((await domainsNow()).domains).toEqual(before);
    await expect.poll(() => page.getByTestId('domain').count()).toBe(before.length);
  });

  it('adds a domain, shows its records with working copy buttons, verifies it through DNS and makes it primary', async () => {
    const hostname = 'shop.example.test';
    await openTab();
    await addInPage(hostname);
    const card = domainCard(hostname);
    await card.waitFor();
    const added = await domainNow(hostname);
    expect(added?.hostname).toBe(hostname);
    expect(added?.status).toBe('pending');
    expect(await card.getAttribute('data-status')).toBe('pending');
    const cname = added?.records.find((r) => r.type === 'CNAME');
    expect(cname).toBeDefined();
    if (!cname) return;
    // The record to create, exactly as the API gives it.
    const values = await card.getByTestId('record-value').allTextContents();
    expect(values).toEqual(added?.records.map((r) => r.value));
    // DNS has nothing yet, and the page says so next to what is expected.
    await expect.poll(() => card.getByTestId('record-found').first().textContent()).toContain('nothing');
    expect(await card.locator('tr[data-matches="false"]').count()).toBe(1);

    // Copy: the clipboard holds the value, and the button says "Copied".
    await card.getByRole('button', { name: 'Copy CNAME value' }).click();
    await card.getByRole('button', { name: 'CNAME value copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(cname.value);
    await snap(page, 'pending');

    // A wrong record first: the page shows what DNS answered beside what is expected.
    await stack.setCname(hostname, 'elsewhere.example.net');
    await card.getByRole('button', { name: 'Check now' }).click();
    await expect.poll(() => card.getByTestId('record-found').first().textContent()).toContain('elsewhere.example.net');
    expect(await card.getAttribute('data-status')).not.toBe('verified');
    await card.getByTestId('domain-error').getByText('elsewhere.example.net').waitFor();
    await snap(page, 'mismatch');

    await stack.setCname(hostname, cname.value);
    await card.getByRole('button', { name: 'Check now' }).click();
    await expect.poll(() => card.getAttribute('data-status')).toBe('verified');
    expect(await card.locator('tr[data-matches="true"]').count()).toBe(1);
    expect((await domainNow(hostname))?.status).toBe('verified');

    // The same name again is taken: the server's reason shows, and the list stays as it was.
    const taken = await api('POST', `/api/v1/instances/${instance.id}/domains`, { hostname });
    expect(taken.statusCode, taken.body).toBeGreaterThanOrEqual(400);
    await addInPage(hostname);
    await expect
      .poll(() => addForm().locator('.field-error, .alert-error').first().textContent())
      .toContain(taken.json().error.message.replace(/\.$/, ''));
    expect((await domainsNow()).domains.filter((d) => d.hostname === hostname)).toHaveLength(1);
    await addForm().getByLabel('Domain name').fill('');

    // Make primary: asked first; then the instance's address, in the header, is the domain.
    await card.getByRole('button', { name: 'Make primary' }).click();
    await page
      .getByRole('dialog', { name: `Make ${hostname} primary?` })
      .getByRole('button', { name: 'Make primary' })
      .click();
    await card.getByText('primary', { exact: true }).waitFor();
    const url = (await api('GET', `/api/v1/instances/${instance.id}`)).json().instance.url as string;
    expect(url).toMatch(new RegExp(`^https://${hostname.replace(/\./g, '\\.')}(:\\d+)?$`));
    await page.locator('.page-header').getByRole('link', { name: url }).waitFor();
    await page.getByRole('region', { name: 'Platform name' }).getByText('redirects to the primary domain').waitFor();
    await snap(page, 'verified-1440');
  });

  it("uploads the organization's own certificate from files or pasted text, and shows the server's refusal", async () => {
    const hostname = 'cert.example.test';
    const domain = await addByApi(hostname);
    await openTab();
    const card = domainCard(hostname);
    const { own, other } = certificates;
    await card.getByRole('button', { name: 'Upload certificate' }).click();
    const dialog = page.getByRole('dialog', { name: `Upload a certificate for ${hostname}` });
    // A key that is not the certificate's: refused, the reason shown, the dialog stays.
    await dialog.getByLabel('Certificate (PEM) file').setInputFiles(own.certificatePath);
    await expect
      .poll(() => dialog.getByLabel('Certificate (PEM)', { exact: true }).inputValue())
      .toBe(own.certificatePem);
    await dialog.getByLabel('Private key (PEM)', { exact: true }).fill(other.keyPem);
    await dialog.getByRole('button', { name: 'Upload certificate' }).click();
    const refusal = dialog.locator('.alert-error');
    await refusal.waitFor();
    const refused = await api('PUT', `/api/v1/domains/${domain.id}/certificate`, {
      certificate: own.certificatePem,
      key: other.keyPem,
    });
    expect(refused.statusCode).toBe(400);
    expect(await refusal.textContent()).toContain(refused.json().error.message);
    await snap(page, 'certificate-refused', false);
    expect((await domainNow(hostname))?.ownCertificate).toBeNull();

    await dialog.getByLabel('Private key (PEM)', { exact: true }).fill(own.keyPem);
    await dialog.getByRole('button', { name: 'Upload certificate' }).click();
    await card
      .getByTestId('own-certificate')
      .getByText(/Uploaded certificate for .*cert\.example\.test/)
      .waitFor();
    expect((await domainNow(hostname))?.ownCertificate?.subject).toContain(hostname);

    await card.getByRole('button', { name: 'Remove uploaded certificate' }).click();
    await page
      .getByRole('dialog', { name: 'Remove the uploaded certificate?' })
      .getByRole('button', { name: 'Remove certificate' })
      .click();
    await expect.poll(() => card.getByTestId('own-certificate').count()).toBe(0);
    expect((await domainNow(hostname))?.ownCertificate).toBeNull();
  });

  it('follows a pending domain by itself until it is verified', async () => {
    const hostname = 'docs.example.test';
    await openTab();
    await addInPage(hostname);
    const card = domainCard(hostname);
    await card.waitFor();
    const added = await domainNow(hostname);
    const cname = added?.records.find((r) => r.type === 'CNAME');
    if (!added || !cname) throw new Error('the added domain has no CNAME record');
    await stack.setCname(hostname, cname.value);
    // Verified outside this page (the API, as the background re-check would): the page follows on its own.
    const verified = await api('POST', `/api/v1/domains/${added.id}/verify`);
    expect(verified.json().domain.status).toBe('verified');
    await expect.poll(() => card.getAttribute('data-status'), { timeout: 10_000 }).toBe('verified');
  });

  it('removes a domain after saying what goes with it', async () => {
    const hostname = 'old.example.test';
    await addByApi(hostname);
    await openTab();
    const card = domainCard(hostname);
    await card.getByRole('button', { name: 'Remove' }).click();
    const dialog = page.getByRole('dialog', { name: `Remove ${hostname}?` });
    await dialog.getByText(/its route/).waitFor();
    await dialog.getByText(/its certificate/).waitFor();
    await dialog.getByRole('button', { name: 'Remove domain' }).click();
    await expect.poll(() => card.count()).toBe(0);
    expect(await domainNow(hostname)).toBeUndefined();
  });

  it('protects the staging instance with a password shown once, with copy buttons', async () => {
    await openTab();
    const card = page.getByRole('region', { name: 'Protection' });
    await card.getByRole('radio', { name: 'Password' }).check();
    await card.getByRole('button', { name: 'Save protection' }).click();
    const secret = card.getByTestId('protection-credentials');
    await secret.waitFor();
    const username = await secret.getByLabel('Protection user name').inputValue();
    const password = await secret.getByLabel('Protection password').inputValue();
    expect(username).not.toBe('');
    expect(password.length).toBeGreaterThanOrEqual(12);
    const stored = (await api('GET', `/api/v1/instances/${instance.id}/protection`)).json().protection;
    expect(stored).toMatchObject({ kind: 'basic', username });
    expect(stored.password).toBeUndefined();
    await secret.getByRole('button', { name: 'Copy' }).nth(1).click();
    await secret.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(password);
    await snap(page, 'protection');

    // An allow-list: the server's answer about a bad address is shown, and nothing changes.
    await card.getByRole('radio', { name: 'IP allow-list' }).check();
    await card.getByLabel('Allowed addresses').fill('not-an-address');
    await card.getByRole('button', { name: 'Save protection' }).click();
    await card.locator('.field-error, .alert-error').first().waitFor();
    expect((await api('GET', `/api/v1/instances/${instance.id}/protection`)).json().protection.kind).toBe('basic');
    await card.getByLabel('Allowed addresses').fill('203.0.113.7\n198.51.100.0/24');
    await card.getByRole('button', { name: 'Save protection' }).click();
    await expect
      .poll(async () => (await api('GET', `/api/v1/instances/${instance.id}/protection`)).json().protection)
      .toMatchObject({ kind: 'allow', addresses: ['203.0.113.7', '198.51.100.0/24'] });
    await card.getByRole('radio', { name: 'Open' }).check();
    await card.getByRole('button', { name: 'Save protection' }).click();
    await expect
      .poll(async () => (await api('GET', `/api/v1/instances/${instance.id}/protection`)).json().protection.kind)
      .toBe('none');
  });

  it('works on a 390 px phone: the records, the copy buttons and the actions fit', async () => {
    const phoneContext = await browser.newContext({
      viewport: PHONE,
      isMobile: true,
      hasTouch: true,
      locale: 'en-US',
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    try {
      const phone = await phoneContext.newPage();
      phone.setDefaultTimeout(15_000);
      await addByApi('m.example.test');
      await signInPage(phone, baseUrl, 'admin@example.com', STRONG_PASSWORD);
      await phone.goto(`${baseUrl}/instances/${instance.id}?tab=domains`);
      const card = phone.locator('[data-testid="domain"][data-hostname="m.example.test"]');
      await card.waitFor();
      // Nothing wider than the screen: the page does not scroll sideways.
      const overflow = (await phone.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
      expect(overflow).toBeLessThanOrEqual(0);
      const copy = card.getByRole('button', { name: 'Copy CNAME value' });
      const box = await copy.boundingBox();
      expect(box && box.x >= 0 && box.x + box.width <= PHONE.width).toBe(true);
      await copy.tap();
      await card.getByRole('button', { name: 'CNAME value copied' }).waitFor();
      for (const name of ['Check now', 'Remove']) {
        const button = await card.getByRole('button', { name }).boundingBox();
        expect(button && button.x + button.width <= PHONE.width, name).toBe(true);
      }
      await snap(phone, 'phone-390');
      await card.screenshot({ path: join(screenshots, 'domains-phone-390-card.png') });
    } finally {
      await phoneContext.close();
    }
  });
});

describe.skipIf(unavailable)('without MARINA_BASE_DOMAIN', () => {
  let plain: TestApp;
  let plainUrl: string;
  let instanceId: string;

  beforeAll(async () => {
    const image = TEST_IMAGES.standin;
    plain = await createTestApp(
      {
        MARINA_NAMESPACE: `${namespace}off`,
        MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
        MARINA_ODOO_17_IMAGE: image,
        MARINA_INSTANCE_BIND: '127.0.0.1',
        MARINA_WEB_DIR: webDir,
      },
      { runtime: () => new MemoryRuntime({ images: [image] }) },
    );
    await plain.services.startBackground();
    await plain.app.listen({ host: '127.0.0.1', port: 0 });
    const address = plain.app.server.address();
    plainUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const who = await adminBrowser(plain);
    await makeOrganization(as(plain, who));
    const project = await makeProject(as(plain, who));
    instanceId = (await requestInstance(as(plain, who), { project: project.id, name: 'main' })).instance.id;
  }, 120_000);

  afterAll(async () => {
    await plain?.close();
  });

  it('the instance page has no Domains tab, as before the edge existed', async () => {
    const off = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    try {
      const tab = await off.newPage();
      tab.setDefaultTimeout(15_000);
      await signInPage(tab, plainUrl, 'admin@example.com', STRONG_PASSWORD);
      await tab.goto(`${plainUrl}/instances/${instanceId}`);
      await tab.getByRole('tab', { name: 'Modules' }).waitFor();
      expect(await tab.getByRole('tab', { name: 'Domains' }).count()).toBe(0);
      // An old link to the tab says why there is nothing, instead of an empty page.
      await tab.goto(`${plainUrl}/instances/${instanceId}?tab=domains`);
      await tab.getByRole('heading', { name: 'Domains are not set up on this Marina' }).waitFor();
    } finally {
      await off.close();
    }
  });
});
