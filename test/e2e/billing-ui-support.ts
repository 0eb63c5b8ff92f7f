import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import {
  adminBrowser,
  as,
  createTestApp,
  memberBrowser,
  type Browser as Session,
  STRONG_PASSWORD,
  type TestApp,
} from '../helpers/app.js';
import { outboxCount, SELLER_SETTINGS } from '../helpers/billing.js';
import { launchChromium, signInPage } from '../helpers/browser.js';
import { freePort, root } from '../helpers/process.js';
import { type PaynowStandin, startPaynowStandin } from '../standin/paynow-server.js';
import { type StripeStandin, startStripeStandin } from '../standin/stripe-server.js';

/**
 * The world of the billing UI test: Marina listening on loopback (its public URL is where it
 * listens, so the providers' return and result URLs reach it), the providers' named stand-ins
 * (test/standin/stripe-server.ts, paynow-server.ts) configured by the platform admin through the
 * API, a seller with Zimbabwe's VAT, a public plan, and Chromium.
 */
export const STRIPE_KEY = 'sk_test_billingUi00000001';
export const WEBHOOK_SECRET = 'whsec_billingUi00000001';
export const PAYNOW_USD = { id: '31001', key: '5b0d7c3e-1f2a-4b5c-8d9e-0a1b2c3d4e5f' };
/** Paynow's stand-in approves this wallet number at its first poll. */
export const ECOCASH_TEST_NUMBER = '0771111111';

export interface BillingWorld {
  t: TestApp;
  admin: Session;
  stripe: StripeStandin;
  paynow: PaynowStandin;
  browser: Browser;
  baseUrl: string;
  plan: { id: string; name: string };
  pageErrors: string[];
  close(): Promise<void>;
}

export async function startBillingWorld(): Promise<BillingWorld> {
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  const webDir = await mkdtemp(join(tmpdir(), 'marina-billing-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let t: TestApp | undefined;
  const stripe = await startStripeStandin({
    secretKey: STRIPE_KEY,
    webhookSecret: WEBHOOK_SECRET,
    webhookUrl: `${baseUrl}/api/v1/billing/webhooks/stripe`,
    // Signatures carry Marina's (test) time: its tolerance is checked against that clock.
    clock: () => t?.clock.now() ?? new Date(),
  });
  const paynow = await startPaynowStandin({
    integrations: { [PAYNOW_USD.id]: { key: PAYNOW_USD.key, currency: 'USD' } },
  });
  t = await createTestApp(
    { MARINA_WEB_DIR: webDir, MARINA_PUBLIC_URL: baseUrl },
    {
      billingStandins: {
        stripeApi: { host: stripe.host, port: stripe.port, protocol: 'http' },
        paynowBaseUrl: paynow.baseUrl,
      },
    },
  );
  await t.app.listen({ host: '127.0.0.1', port });
  const admin = await adminBrowser(t);
  const call = as(t, admin);
  const ok = async (answer: Promise<{ statusCode: number; body: string }>, status = 200) => {
    const got = await answer;
    expect(got.statusCode, got.body).toBe(status);
    return got;
  };
  await ok(call('PUT', '/api/v1/billing/providers/stripe', { secretKey: STRIPE_KEY, webhookSecret: WEBHOOK_SECRET }));
  await ok(
    call('PUT', '/api/v1/billing/providers/paynow:USD', {
      integrationId: PAYNOW_USD.id,
      integrationKey: PAYNOW_USD.key,
    }),
  );
  await ok(call('PUT', '/api/v1/billing/settings', SELLER_SETTINGS));
  await ok(call('PUT', '/api/v1/billing/tax-rates/ZW', { name: 'VAT', rateBasisPoints: 1500 }));
  await ok(
    call('POST', '/api/v1/plans', {
      slug: 'starter',
      name: 'Starter',
      description: 'One production instance.',
      public: true,
      trialDays: 14,
      limits: {},
      prices: [
        { currency: 'USD', period: 'month', amountMinor: 1000 },
        { currency: 'USD', period: 'year', amountMinor: 10000 },
      ],
    }),
    201,
  );
  const made = await ok(
    call('POST', '/api/v1/plans', {
      slug: 'business',
      name: 'Business',
      description: 'Production, staging and development.',
      public: true,
      trialDays: 14,
      limits: {},
      prices: [
        { currency: 'USD', period: 'month', amountMinor: 2000 },
        { currency: 'USD', period: 'year', amountMinor: 20000 },
        { currency: 'ZWG', period: 'month', amountMinor: 54000 },
      ],
    }),
    201,
  );
  const plan = (JSON.parse(made.body) as { plan: { id: string; name: string } }).plan;
  const browser = await launchChromium();
  return {
    t,
    admin,
    stripe,
    paynow,
    browser,
    baseUrl,
    plan,
    pageErrors: [],
    async close() {
      await browser.close();
      await t?.close();
      await stripe.close();
      await paynow.close();
      await rm(webDir, { recursive: true, force: true });
    },
  };
}

/** A trialing organization on the Business plan, with its owner (who signs in with STRONG_PASSWORD). */
export async function trialCustomer(w: BillingWorld, slug: string, name: string) {
  const call = as(w.t, w.admin);
  const made = await call('POST', '/api/v1/organizations', { slug, name });
  expect(made.statusCode, made.body).toBe(201);
  const organization = made.json<{ organization: { id: string; slug: string; name: string } }>().organization;
  const given = await call('POST', `/api/v1/organizations/${organization.id}/subscription`, {
    planId: w.plan.id,
    trial: true,
  });
  expect(given.statusCode, given.body).toBe(201);
  const email = `owner@${slug}.test`;
  const owner = await memberBrowser(w.t, w.admin, slug, email, 'owner');
  return { organization, email, owner };
}

/** A browser of its own, signed in through the login page (again after the test clock jumped). */
export async function signedInPage(w: BillingWorld, email: string): Promise<Page> {
  const context = await w.browser.newContext({
    viewport: { width: 1360, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
    acceptDownloads: true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => w.pageErrors.push(error.message));
  await signInPage(page, w.baseUrl, email, STRONG_PASSWORD);
  return page;
}

/** A full-page screenshot into /work/screens (for a person to look at), never on CI. */
export async function shoot(page: Page, name: string, fullPage = true): Promise<void> {
  if (process.env.CI || !existsSync('/work/screens')) return;
  // From the top: a page scrolled by a click would draw its sticky bars in the middle of the shot.
  // A dialog is shot as the screen shows it (its backdrop covers the viewport only).
  if (fullPage) await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: `/work/screens/billing-${name}.png`, fullPage });
}

export const subscriptionStatus = async (t: TestApp, organizationId: string) =>
  (
    await t.db
      .selectFrom('subscriptions')
      .select(['status', 'suspended_kind', 'current_period_end'])
      .where('organization_id', '=', organizationId)
      .executeTakeFirstOrThrow()
  ).status;

export const mailCount = (t: TestApp, organizationId: string, key: string) => outboxCount(t.db, organizationId, key);

export const invoicesOf = (t: TestApp, organizationId: string) =>
  t.db
    .selectFrom('invoices')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('kind', '=', 'invoice')
    .orderBy('issued_at')
    .execute();
