/**
 * Sign-up to a working Odoo: from the verify request (the customer clicks the emailed link) to
 * `https://<subdomain>.<base domain>/web/login` answering 200 through the edge (real Caddy). Five
 * sign-ups, p50 and range; on real Odoo 17 with ODOO_SOURCE, else on the stand-in (labelled).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app/http.js';
import { edgeRequest } from '../test/helpers/edge-client.js';
import { edgeStackUnavailable, startEdgeStack } from '../test/helpers/edge-stack.js';
import { links, startSmtpCapture } from '../test/helpers/smtp-capture.js';
import { makeSelfSignedCertificate } from '../test/helpers/test-ca.js';
import { benchLogger, benchMarina, hasTestImages, system } from './marina.js';
import { ms, percentile, report } from './report.js';

const RUNS = 5;
const BASE_DOMAIN = 'signup.bench.test';
const PUBLIC_URL = 'https://marina.bench.test';
const PASSWORD = 'correct horse battery staple';

export async function signupBench(): Promise<void> {
  const missing = edgeStackUnavailable();
  if (missing || !(await hasTestImages())) {
    report('sign-up', `skipped: ${missing ?? 'no Docker engine or test images'}`);
    return;
  }
  const source = process.env.ODOO_SOURCE;
  const label = source ? 'sign-up, real Odoo 17' : 'sign-up, stand-in (set ODOO_SOURCE for real Odoo 17)';
  const odoo: Record<string, string> = source
    ? { MARINA_ODOO_17_IMAGE: 'marina-test/odoo-runtime', MARINA_ODOO_17_SOURCE: source }
    : { MARINA_ODOO_17_IMAGE: 'marina-test/odoo-standin' };
  const stack = await startEdgeStack();
  const smtp = await startSmtpCapture();
  const certDir = await mkdtemp(join(tmpdir(), 'marina-bench-signup-'));
  const wildcard = await makeSelfSignedCertificate(certDir, 'wildcard', { names: [`*.${BASE_DOMAIN}`], days: 2 });
  const marina = await benchMarina({
    ...stack.marinaEnv(),
    ...odoo,
    // Only 17 here: sign-up picks the newest version Marina can run.
    MARINA_ODOO_16_IMAGE: 'marina-bench/absent:16',
    MARINA_ODOO_18_IMAGE: 'marina-bench/absent:18',
    MARINA_ODOO_19_IMAGE: 'marina-bench/absent:19',
    MARINA_BASE_DOMAIN: BASE_DOMAIN,
    MARINA_PUBLIC_URL: PUBLIC_URL,
    MARINA_ACME_CA: 'internal',
    MARINA_EDGE_WILDCARD_CERT: wildcard.certificatePath,
    MARINA_EDGE_WILDCARD_KEY: wildcard.keyPath,
  });
  const app = await buildApp({ config: marina.config, services: marina.services, db: marina.db, logger: benchLogger });
  await app.ready();
  try {
    await marina.services.settings.setSmtp(system, {
      host: '127.0.0.1',
      port: smtp.port,
      security: 'none',
      from: 'bench@bench.test',
      username: null,
      password: null,
    });
    await marina.services.signupSettings.set(system, {
      enabled: true,
      refusedDomains: [],
      reservedNames: [],
      perAddressPerDay: 100,
      perDomainPerDay: 100,
      perIpPerHour: 100,
    });
    const plan = await marina.db
      .insertInto('plans')
      .values({ slug: 'trial', name: 'Trial', public: true, trial_days: 14 })
      .returning('id')
      .executeTakeFirstOrThrow();
    const totals: number[] = [];
    // The first sign-up also creates the managed PostgreSQL server: measured apart.
    for (let run = 0; run <= RUNS; run++) {
      const email = `owner${run}@bench.test`;
      const subdomain = `bench-${run}`;
      const asked = await app.inject({
        method: 'POST',
        url: '/api/v1/signup',
        payload: { email, organizationName: `Bench ${run}`, subdomain, planId: plan.id },
      });
      if (asked.statusCode !== 202) throw new Error(`sign-up refused: ${asked.body}`);
      await marina.services.notices.drain();
      const mail = await smtp.waitForMessage((m) => m.to.includes(email), 30_000);
      const url = links(mail).find((l) => l.includes('#token=')) ?? '';
      const token = decodeURIComponent(url.split('#token=')[1] ?? '');
      const started = performance.now();
      const verified = await app.inject({
        method: 'POST',
        url: '/api/v1/signup/verify',
        payload: { token, password: PASSWORD },
      });
      if (verified.statusCode !== 200) throw new Error(`verify failed: ${verified.body}`);
      const { jobId } = verified.json<{ jobId: string }>();
      const hostname = `${subdomain}.${BASE_DOMAIN}`;
      for (;;) {
        const page = await edgeRequest(stack, { hostname, path: '/web/login', timeoutMs: 10_000 }).catch(
          () => undefined,
        );
        if (page?.status === 200) break;
        const op = await marina.services.operations.get(system.actor, jobId).catch(() => undefined);
        if (op?.status === 'failed') throw new Error(`provisioning failed: ${op.error?.message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const total = performance.now() - started;
      if (run === 0) report(`${label}: first (creates the PostgreSQL server)`, ms(total));
      else totals.push(total);
    }
    report(
      `${label}: verify → /web/login 200 via edge, p50 of ${RUNS}`,
      `${ms(percentile(totals, 50))} (min ${ms(Math.min(...totals))}, max ${ms(Math.max(...totals))})`,
    );
  } finally {
    await app.close();
    await marina.close();
    await smtp.stop();
    await stack.stop();
    await rm(certDir, { recursive: true, force: true });
  }
}
