import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { as, type Browser as Session, type TestApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../helpers/docker.js';
import { type S3TestServer, startS3Server } from '../helpers/s3-server.js';
import { type SftpTestServer, sftpServerUnavailable, startSftpServer } from '../helpers/sftp-server.js';
import { type SmtpCapture, startSmtpCapture } from '../helpers/smtp-capture.js';

/**
 * The shared setup of offsite-ui.test.ts: a real Chromium against a real Marina (Docker,
 * PostgreSQL, the Odoo stand-in), the S3 and SFTP stand-ins and an SMTP capture, all on loopback.
 */
export const shots = process.env.MARINA_SHOTS ?? '/tmp/marina-shots';
export const STEP_TIMEOUT = 60_000;
export const JOB_TIMEOUT = 180_000;
export const TIME_ZONE = 'Europe/Brussels';
export const PASSPHRASE = 'a long passphrase for the ui test';

export const namespace = testNamespace();
export let t: TestApp;
export let admin: Session;
export let baseUrl: string;
export let instance: { id: string; name: string };
export let s3: S3TestServer;
export let sftp: SftpTestServer | undefined;
export const noSftp = sftpServerUnavailable();
export let smtp: SmtpCapture;
export const SMTP_PASSWORD = 'smtp password for the ui test';
export let browser: Browser;
export let context: BrowserContext;
export let page: Page;
export const pageErrors: string[] = [];

export async function snap(
  name: string,
  { fullPage = true, scrollTo }: { fullPage?: boolean; scrollTo?: Locator } = {},
) {
  // Progress bars glide to their value (0.4 s): let them arrive.
  await page.waitForTimeout(500);
  for (const dismiss of await page.locator('.toasts').getByRole('button', { name: 'Dismiss' }).all()) {
    await dismiss.click().catch(() => undefined);
  }
  if (scrollTo) await scrollTo.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  else await page.evaluate('window.scrollTo(0, 0)');
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

/** A loopback port nothing listens on: connections to it are refused at once. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
  as(t, admin)(method, url, body);
export const scheduleCard = () => page.getByTestId('schedule-card');
export const history = () => page.getByRole('table', { name: 'Backup history' });
export const backupsTable = () => page.getByRole('table', { name: 'Backups', exact: true });

/** Waits until the wall clock in Brussels is at least `minutes` past midnight (at most that long). */
export async function waitPastLocalMidnight(minutes: number): Promise<void> {
  const sinceMidnight = () => {
    const [hour, minute, second] = new Intl.DateTimeFormat('en-GB', {
      timeZone: TIME_ZONE,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .format(new Date())
      .split(':')
      .map(Number);
    return ((hour ?? 0) * 60 + (minute ?? 0)) * 60 + (second ?? 0);
  };
  const wait = minutes * 60 - sinceMidnight();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 1000));
}

/** Starts the storage and mail stand-ins, Marina in Docker with one instance, and Chromium on one page; stops them after. */
export function startMarinaAndChromium(): void {
  beforeAll(async () => {
    await requireDocker();
    await mkdir(shots, { recursive: true });
    s3 = await startS3Server();
    if (noSftp) console.warn(`\n!!! The SFTP part of offsite-ui.test.ts is SKIPPED: ${noSftp}.\n`);
    else sftp = await startSftpServer();
    smtp = await startSmtpCapture({ auth: { user: 'marina', password: SMTP_PASSWORD } });
    const marina = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
      // A copy to a closed port fails after two quick retries instead of minutes of backoff.
      MARINA_UPLOAD_RETRY_DELAYS: '0.2,0.2',
      // Nothing is due in this test; the timer must not fire in between.
      MARINA_SCHEDULER_INTERVAL_S: '3600',
      // A web build of its own, when given: dist/web may be rebuilt by someone else meanwhile.
      ...(process.env.MARINA_TEST_WEB_DIR ? { MARINA_WEB_DIR: process.env.MARINA_TEST_WEB_DIR } : {}),
    });
    ({ t, admin, baseUrl } = marina);
    ({ instance } = await provisionInstance(marina, { project: 'erp', name: 'main' }));
    // s3rver and sshd listen on loopback, an internal range only a platform admin can allow.
    expect((await api('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] })).statusCode).toBe(200);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, timezoneId: TIME_ZONE });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await removeNamespace(namespace);
    await s3?.stop();
    await sftp?.stop();
    await smtp?.stop();
  }, 120_000);
}
