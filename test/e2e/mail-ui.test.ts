import { copyFile, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/adapters/postgres/admin.js';
import { as, type Browser as Session, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, screenshots, signInPage } from '../helpers/browser.js';
import { docker, TEST_IMAGES } from '../helpers/docker.js';
import { type MailMarina, startMailMarina } from '../helpers/mail-marina.js';

/**
 * The Mail tab in Chromium against real Docker, the stand-in Odoo and Marina's mail catcher: a
 * message sent from inside the staging instance's container with the outgoing server Marina wrote
 * into its Odoo shows up in the inbox, its HTML in a sandboxed iframe where scripts do not run,
 * its attachment downloadable; the same at phone width.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const after = '/work/screens/after';
let marina: MailMarina;
let t: TestApp;
let admin: Session;
let browser: Browser;
let baseUrl: string;
let webDir: string;
let instance: { id: string; name: string };
const pageErrors: string[] = [];

/** What Odoo does when it sends: smtplib with the active ir_mail_server, from the instance's network. */
const SEND_SCRIPT = `
import smtplib, sys
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.application import MIMEApplication
msg = MIMEMultipart("mixed")
msg["Subject"] = "Quotation S00042 from Acme"
msg["From"] = "Acme Sales <sales@acme.test>"
msg["To"] = "Jane Customer <jane@customer.test>"
body = MIMEMultipart("alternative")
body.attach(MIMEText("Dear Jane, here is your quotation.", "plain"))
body.attach(MIMEText(
  "<div style='font-family:sans-serif'><h1 id='greeting' style='color:#137089'>Dear Jane</h1>"
  "<p>Here is your quotation <b>S00042</b> for 1,250.00 EUR.</p>"
  "<script>parent.document.title='script ran';document.getElementById('greeting').textContent='script ran'</script>"
  "<img src='https://tracker.example/pixel.png' alt=''></div>", "html"))
msg.attach(body)
part = MIMEApplication(b"%PDF-1.4 quotation S00042", Name="S00042.pdf")
part["Content-Disposition"] = 'attachment; filename="S00042.pdf"'
msg.attach(part)
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=20)
s.login(sys.argv[3], sys.argv[4])
s.sendmail("sales@acme.test", ["jane@customer.test"], msg.as_string())
s.quit()
print("sent")
`;

async function sendFromInstance(): Promise<void> {
  const row = await t.services.instances.row(instance.id);
  const server = await withClient(await t.services.databaseServers.forInstance(row), row.db_name, async (db) => {
    const { rows } = await db.query<{ smtp_host: string; smtp_port: number; smtp_user: string; smtp_pass: string }>(
      'SELECT smtp_host, smtp_port, smtp_user, smtp_pass FROM ir_mail_server WHERE active',
    );
    return rows[0];
  });
  if (!server) throw new Error('no active outgoing server in Odoo');
  const exec = await docker.getContainer(row.container_name).exec({
    Cmd: ['python3', '-c', SEND_SCRIPT, server.smtp_host, String(server.smtp_port), server.smtp_user, server.smtp_pass],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({});
  const output = await new Promise<string>((resolve) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    stream.on('end', () => resolve(text));
  });
  expect(output).toContain('sent');
}

/** A screenshot of what the viewport shows once `target` is scrolled into it, kept in /work/screens/after. */
async function shoot(page: Page, name: string, target: Locator): Promise<void> {
  await target.scrollIntoViewIfNeeded();
  const path = join(screenshots, `${name}.png`);
  await page.screenshot({ path });
  await mkdir(after, { recursive: true });
  await copyFile(path, join(after, `${name}.png`));
}

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-mail-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  marina = await startMailMarina({ MARINA_WEB_DIR: webDir, MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin });
  ({ t, admin, baseUrl, instance } = marina);
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await marina?.close();
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

describe('the Mail tab', { timeout: 120_000 }, () => {
  it('shows mail the staging instance sent, its HTML sandboxed, its attachment downloadable', async () => {
    await sendFromInstance();
    const context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      locale: 'en-US',
      acceptDownloads: true,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    await page.goto(`${baseUrl}/instances/${instance.id}?tab=mail`);
    const title = await page.title();

    await expect.poll(() => page.getByTestId('mail-row').count()).toBe(1);
    await expect
      .poll(() => page.getByLabel('Outgoing mail').getByRole('radio', { name: 'Mail catcher' }).isChecked())
      .toBe(true);
    await page.getByTestId('mail-row').click();
    const view = page.getByTestId('mail-view');
    await view.getByRole('heading', { name: 'Quotation S00042 from Acme' }).waitFor();

    // Side by side on a wide screen: no way back is needed.
    expect(await view.getByRole('button', { name: 'Back to the list' }).isVisible()).toBe(false);
    const frame = page.getByTestId('mail-html');
    expect(await frame.getAttribute('sandbox')).toBe('');
    const inside = page.frameLocator('[data-testid="mail-html"]');
    await expect.poll(() => inside.locator('#greeting').textContent()).toBe('Dear Jane');
    await expect.poll(() => inside.locator('b').textContent()).toBe('S00042');
    // The sender's script did not run: neither inside the frame nor on Marina's page.
    expect(await page.title()).toBe(title);

    const download = page.waitForEvent('download');
    await view.getByRole('link', { name: 'S00042.pdf' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('S00042.pdf');
    expect((await readFile((await file.path()) as string)).toString()).toBe('%PDF-1.4 quotation S00042');

    await shoot(page, 'mail-inbox-1440', view);
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('works at phone width: the list, then the message with a way back', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'en-US',
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    await page.goto(`${baseUrl}/instances/${instance.id}?tab=mail`);
    await page.getByTestId('mail-row').first().waitFor();
    await shoot(page, 'mail-list-390', page.getByLabel('Caught mail'));
    await page.getByTestId('mail-row').first().click();
    await page.frameLocator('[data-testid="mail-html"]').locator('#greeting').waitFor();
    expect(await page.getByTestId('mail-row').first().isVisible()).toBe(false);
    // Nothing wider than the phone: no sideways scrolling.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shoot(page, 'mail-message-390', page.getByTestId('mail-html'));
    await page.getByRole('button', { name: 'Back to the list' }).click();
    await page.getByTestId('mail-row').first().waitFor();
    await context.close();
  });

  it('an admin chooses their own server, and deletes all caught mail', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    await page.goto(`${baseUrl}/instances/${instance.id}?tab=mail`);
    const card = page.getByLabel('Outgoing mail');
    await card.getByRole('radio', { name: 'Your own server' }).check();
    await card.getByLabel('SMTP host').fill('10.9.8.7');
    await card.getByLabel('Port').fill('587');
    await card.getByLabel('Username').fill('mailer');
    await card.getByLabel('Password').fill('own server secret');
    await card.getByRole('button', { name: 'Save outgoing mail' }).click();
    // An internal address is refused, as for every address a tenant gives.
    await card.getByText(/internal addresses/).waitFor();
    await card.getByLabel('SMTP host').fill('8.8.4.4');
    await card.getByRole('button', { name: 'Save outgoing mail' }).click();
    await page.getByText('Outgoing mail is set in Odoo.').waitFor();
    const got = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}/mail-server`)).json().mailServer;
    expect(got).toMatchObject({
      mode: 'own',
      own: { host: '8.8.4.4', port: 587, username: 'mailer', passwordSet: true },
    });
    await shoot(page, 'mail-outgoing-own-1440', card);

    await page.getByRole('button', { name: 'Delete all' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete all' }).click();
    await page.getByText('No mail caught yet').waitFor();
    expect((await as(t, admin)('GET', `/api/v1/instances/${instance.id}/mails`)).json().total).toBe(0);
    await context.close();
  });
});
