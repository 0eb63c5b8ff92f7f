/**
 * The edge under change (issue #21): 50 clients keep requesting one instance over HTTPS through
 * real Caddy while 200 custom domains of another instance are added, verified and removed — with
 * Marina's shape (a domain is a DNS answer, Caddy is not reloaded) and, for contrast, with one
 * whole-configuration load per change (what a route-per-domain design would do). Then, with 1,000
 * instances' servers configured: the time of one configuration load, and the time from a domain's
 * verification to its first answer. Needs Docker, the test images, caddy and pebble.
 */
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { createServer } from 'node:net';
import { CaddyAdmin } from '../src/adapters/proxy/caddy-admin.js';
import { buildApp } from '../src/app/http.js';
import { buildCaddyConfig, type EdgeInstanceState } from '../src/modules/edge/caddy-config.js';
import { edgeStackUnavailable, startEdgeStack } from '../test/helpers/edge-stack.js';
import { benchLogger, benchMarina, hasTestImages, system } from './marina.js';
import { ms, percentile, report } from './report.js';

const CLIENTS = 50;
const CHANGES = 200;
const BASE_DOMAIN = 'bench.test';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

interface Hammer {
  stop(): Promise<{ ok: number; errors: number; kinds: Map<string, number>; latencies: number[] }>;
}

/** CLIENTS loops of keep-alive HTTPS requests to one name, as browsers keep their connections. */
function hammer(port: number, hostname: string, ca: string): Hammer {
  const agent = new https.Agent({ keepAlive: true, maxSockets: CLIENTS });
  let running = true;
  let ok = 0;
  let errors = 0;
  const kinds = new Map<string, number>();
  const latencies: number[] = [];
  const once = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const request = https.request(
        {
          host: '127.0.0.1',
          port,
          servername: hostname,
          headers: { host: hostname },
          path: '/web/health',
          agent,
          ca,
          timeout: 10_000,
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            if (response.statusCode === 200) ok++;
            else {
              errors++;
              kinds.set(`HTTP ${response.statusCode}`, (kinds.get(`HTTP ${response.statusCode}`) ?? 0) + 1);
            }
            latencies.push(performance.now() - started);
            resolve();
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (error: NodeJS.ErrnoException) => {
        errors++;
        const kind = error.code ?? error.message;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        resolve();
      });
      request.end();
    });
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (running) await once();
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return { ok, errors, kinds, latencies };
    },
  };
}

const summary = (r: Awaited<ReturnType<Hammer['stop']>>) =>
  `${r.ok} answered, ${r.errors} errors${r.errors ? ` (${[...r.kinds].map(([k, n]) => `${k} ×${n}`).join(', ')})` : ''}, p50 ${ms(percentile(r.latencies, 50))}, p99 ${ms(percentile(r.latencies, 99))}`;

/** A synthetic instance for the configuration-size measurement (its upstream answers nothing). */
function syntheticInstance(i: number): EdgeInstanceState {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    edgeIp: `127.88.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    production: i % 2 === 0,
    longpolling: false,
    platformHostname: `site${i}-erp-bench.${BASE_DOMAIN}`,
    primaryHostname: null,
    httpUpstream: `127.0.0.1:${1024 + i}`,
    geventUpstream: null,
    protection: null,
    maxRequestBodyBytes: 1024 * 1024 * 1024,
  };
}

export async function edgeBench(): Promise<void> {
  const missing = edgeStackUnavailable();
  if (missing || !(await hasTestImages())) {
    report('edge', `skipped: ${missing ?? 'no Docker engine or test images'}`);
    return;
  }
  const stack = await startEdgeStack();
  const port = await freePort();
  const marina = await benchMarina({
    ...stack.marinaEnv(),
    MARINA_BASE_DOMAIN: BASE_DOMAIN,
    MARINA_PORT: String(port),
    MARINA_HOST: '127.0.0.1',
    MARINA_EDGE_ADDRESSES: '127.0.0.1',
    MARINA_ODOO_17_IMAGE: 'marina-test/odoo-standin',
  });
  const app = await buildApp({ config: marina.config, services: marina.services, db: marina.db, logger: benchLogger });
  await app.listen({ host: '127.0.0.1', port });
  const ctx = { ...system, actor: system.actor };
  try {
    const target = await marina.provision('hammered', 1024);
    const other = await marina.provision('other', 1024);
    const [targetRow, otherRow] = await Promise.all(
      [target.instanceId, other.instanceId].map((id) =>
        marina.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
      ),
    );
    const hostname = targetRow?.hostname ?? '';
    await stack.pointAtEdge(hostname);
    // The first request gets the certificate (on demand, from Pebble).
    const warm = hammer(stack.httpsPort, hostname, stack.issuingRootPem);
    await new Promise((r) => setTimeout(r, 3000));
    report('edge: warm-up (certificate issued on demand)', summary(await warm.stop()));

    // Marina's shape: domains come and go as DNS answers; Caddy is not touched.
    const loadsBefore = marina.services.edge.loads;
    let running = hammer(stack.httpsPort, hostname, stack.issuingRootPem);
    const started = performance.now();
    for (let i = 0; i < CHANGES; i++) {
      const name = `shop${i}-${randomBytes(2).toString('hex')}.example.org`;
      const domain = await marina.services.domains.add(ctx, otherRow?.id ?? '', { hostname: name, method: 'txt' });
      const token = await marina.db
        .selectFrom('domains')
        .select('token')
        .where('id', '=', domain.id)
        .executeTakeFirstOrThrow();
      await stack.setTxt(`_marina-challenge.${name}`, token.token);
      const verified = await marina.services.domains.verify(ctx, domain.id);
      if (verified.status !== 'verified') throw new Error(`${name} did not verify: ${JSON.stringify(verified.found)}`);
      await marina.services.domains.remove(ctx, domain.id);
      await stack.clearTxt(`_marina-challenge.${name}`);
    }
    const took = performance.now() - started;
    report(
      `edge: ${CHANGES} domains added, verified, removed`,
      `${ms(took)}; Caddy loads: ${marina.services.edge.loads - loadsBefore}`,
    );
    report(`edge:   ${CLIENTS} clients meanwhile`, summary(await running.stop()));

    // For contrast: one whole-configuration load per change, as a route-per-domain design makes
    // (each load differs from the last, so Caddy really reloads).
    const admin = new CaddyAdmin(stack.caddyAdminUrl);
    const base = await marina.services.edge.currentState();
    running = hammer(stack.httpsPort, hostname, stack.issuingRootPem);
    const reloads: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const at = performance.now();
      await admin.load(buildCaddyConfig({ ...base, instances: [...base.instances, syntheticInstance(i % 2)] }));
      reloads.push(performance.now() - at);
    }
    report(`edge: contrast, ${CHANGES} whole-configuration loads`, `median ${ms(percentile(reloads, 50))} each`);
    report(`edge:   ${CLIENTS} clients meanwhile`, summary(await running.stop()));

    // 1,000 instances' servers configured: one load, and a new domain's first answer.
    const big = {
      ...base,
      instances: [...base.instances, ...Array.from({ length: 1000 }, (_, i) => syntheticInstance(i))],
    };
    const loadTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const at = performance.now();
      await admin.load(buildCaddyConfig(big));
      loadTimes.push(performance.now() - at);
    }
    report('edge: one load with 1,002 instance servers', `median ${ms(percentile(loadTimes, 50))} of 5`);
    const name = `late-${randomBytes(2).toString('hex')}.example.org`;
    const domain = await marina.services.domains.add(ctx, targetRow?.id ?? '', { hostname: name, method: 'txt' });
    const token = await marina.db
      .selectFrom('domains')
      .select('token')
      .where('id', '=', domain.id)
      .executeTakeFirstOrThrow();
    await stack.setTxt(`_marina-challenge.${name}`, token.token);
    await stack.pointAtEdge(name);
    const at = performance.now();
    await marina.services.domains.verify(ctx, domain.id);
    const verifiedAt = performance.now();
    // The instance answers (a 308 to its primary name: the new domain is not primary).
    let status = 0;
    let lastError = '';
    while (status !== 308 && status !== 200 && performance.now() - at < 30_000) {
      status = await new Promise<number>((resolve) => {
        const request = https.request(
          {
            host: '127.0.0.1',
            port: stack.httpsPort,
            servername: name,
            headers: { host: name },
            path: '/web/health',
            ca: stack.issuingRootPem,
            timeout: 10_000,
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on('error', (error) => {
          lastError = error.message;
          resolve(0);
        });
        request.on('timeout', () => request.destroy(new Error('no answer within 10 s')));
        request.end();
      });
    }
    if (status !== 308 && status !== 200) {
      console.error(
        stack.logs().caddy.split('\n').slice(-25).join('\n'),
        stack.logs().pebble.split('\n').slice(-10).join('\n'),
      );
      throw new Error(`the new domain never answered: ${status || lastError}`);
    }
    report(
      'edge: a domain verified → its first answer (new certificate)',
      `${ms(performance.now() - at)} (verification itself ${ms(verifiedAt - at)}), no load`,
    );
  } finally {
    await app.close();
    await marina.close();
    await stack.stop();
  }
}
