import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { systemContext } from '../src/platform/context.js';
import {
  adminBrowser,
  type Browser,
  createTestApp,
  STRONG_PASSWORD,
  type TestApp,
  type TestAppOptions,
} from './helpers/app.js';
import { randomPortRange, removeNamespace, requireDocker, TEST_IMAGES, testNamespace } from './helpers/docker.js';
import { type EdgeStack, startEdgeStack } from './helpers/edge-stack.js';
import { freePort } from './helpers/process.js';
import { type CapturedMessage, links, type SmtpCapture, startSmtpCapture } from './helpers/smtp-capture.js';
import { makeSelfSignedCertificate } from './helpers/test-ca.js';

/** What sign-up tests run on: Marina with the edge (Caddy), real Docker and the Odoo stand-in, SMTP capture. */
export interface SignupWorld {
  t: TestApp;
  stack: EdgeStack;
  smtp: SmtpCapture;
  admin: Browser;
  /** A public plan with a 14-day trial. */
  planId: string;
  baseDomain: string;
  publicUrl: string;
  /** Sets the capturing server as Marina's SMTP. */
  setSmtp(): Promise<void>;
  /** The mails to an address so far, after the outbox drained. */
  mailsTo(email: string): Promise<CapturedMessage[]>;
  /** The token of the last verification mail to `email` (waits for one). */
  tokenFor(email: string): Promise<string>;
  /** A public request from a client address of the test's choice. */
  post(url: string, payload: object, ip: string): Promise<LightMyRequestResponse>;
  /** The sign-up form with an email (no password: it is chosen at verify), on the trial plan. */
  form(email: string, subdomain: string, extra?: Record<string, unknown>): Record<string, unknown>;
  /** Verifies a mailed link choosing `password` (a strong one unless given; `null` sends none). */
  verify(token: string, password?: string | null, ip?: string): Promise<LightMyRequestResponse>;
  /** Waits until the job has ended; its final status. */
  jobEnded(id: string): Promise<string>;
  close(): Promise<void>;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function startSignupWorld(
  names: { baseDomain: string; publicUrl: string; env?: Record<string, string> },
  options: TestAppOptions = {},
): Promise<SignupWorld> {
  await requireDocker();
  const namespace = testNamespace();
  const stack = await startEdgeStack();
  const smtp = await startSmtpCapture();
  const certDir = await mkdtemp(join(tmpdir(), 'marina-signup-wildcard-'));
  const backupsDir = await mkdtemp(join(tmpdir(), 'marina-signup-backups-'));
  const wildcard = await makeSelfSignedCertificate(certDir, 'wildcard', {
    names: [`*.${names.baseDomain}`],
    days: 2,
  });
  const t = await createTestApp(
    {
      MARINA_NAMESPACE: namespace,
      MARINA_POSTGRES_IMAGE: TEST_IMAGES.postgres,
      // Only 17 runs here: a sign-up without a template gets the newest version Marina can run.
      MARINA_ODOO_16_IMAGE: 'marina-test/absent:16',
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
      MARINA_ODOO_18_IMAGE: 'marina-test/absent:18',
      MARINA_ODOO_19_IMAGE: 'marina-test/absent:19',
      MARINA_INSTANCE_BIND: '127.0.0.1',
      MARINA_INSTANCE_PORTS: randomPortRange(),
      MARINA_BACKUPS_DIR: backupsDir,
      ...stack.marinaEnv(),
      MARINA_HOST: '127.0.0.1',
      MARINA_PORT: String(await freePort()),
      MARINA_PUBLIC_URL: names.publicUrl,
      MARINA_BASE_DOMAIN: names.baseDomain,
      MARINA_ACME_CA: 'internal',
      MARINA_EDGE_WILDCARD_CERT: wildcard.certificatePath,
      MARINA_EDGE_WILDCARD_KEY: wildcard.keyPath,
      // The tests tick by hand.
      MARINA_LIFECYCLE_INTERVAL_S: '3600',
      ...names.env,
    },
    options,
  );
  await t.services.startBackground();
  const admin = await adminBrowser(t);
  const plan = await t.db
    .insertInto('plans')
    .values({ slug: 'starter', name: 'Starter', public: true, trial_days: 14, max_production: 1 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const setSmtp = async () => {
    await t.services.settings.setSmtp(systemContext('test'), {
      host: '127.0.0.1',
      port: smtp.port,
      security: 'none',
      from: 'Marina <marina@signup.test>',
      username: null,
      password: null,
    });
  };
  const mailsTo = async (email: string) => {
    await t.services.notices.drain();
    return smtp.messages.filter((m) => m.to.includes(email));
  };
  const isVerifyMail = (m: CapturedMessage) => m.subject.includes('Confirm your email');
  return {
    t,
    stack,
    smtp,
    admin,
    planId: plan.id,
    baseDomain: names.baseDomain,
    publicUrl: names.publicUrl,
    setSmtp,
    mailsTo,
    post: (url, payload, ip) => t.app.inject({ method: 'POST', url, payload, remoteAddress: ip }),
    form: (email, subdomain, extra = {}) => ({
      email,
      organizationName: `Org of ${email}`,
      subdomain,
      planId: plan.id,
      ...extra,
    }),
    verify: (token, password = STRONG_PASSWORD, ip = '10.99.0.1') =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/signup/verify',
        payload: password === null ? { token } : { token, password },
        remoteAddress: ip,
      }),
    async tokenFor(email) {
      await t.services.notices.drain();
      await smtp.waitForMessage((m) => m.to.includes(email) && isVerifyMail(m), 10_000);
      const last = (await mailsTo(email)).filter(isVerifyMail).at(-1) as CapturedMessage;
      const url = links(last).find((l) => l.startsWith(`${names.publicUrl}/signup/verify#token=`));
      if (!url) throw new Error(`no verify link in ${last.subject}`);
      return decodeURIComponent(url.split('#token=')[1] as string);
    },
    jobEnded: (id) =>
      waitFor(`job ${id}`, async () => {
        const op = await t.db.selectFrom('operations').select('status').where('id', '=', id).executeTakeFirstOrThrow();
        return ['queued', 'running'].includes(op.status) ? undefined : op.status;
      }),
    close: async () => {
      await t.close();
      await smtp.stop();
      await stack.stop();
      await removeNamespace(namespace);
      await rm(certDir, { recursive: true, force: true });
      await rm(backupsDir, { recursive: true, force: true });
    },
  };
}
