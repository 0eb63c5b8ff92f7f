/**
 * npm run bench — Marina's own numbers on this machine: start-up of the embedded database,
 * sign-in cost (argon2id), authenticated API throughput over a real socket, audit queries over
 * a large trail, and the process's memory. Bounded in time; loopback only.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildApp } from '../src/app/http.js';
import { createServices } from '../src/app/services.js';
import { loadConfig } from '../src/config.js';
import { connect, migrate } from '../src/db/database.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { systemClock } from '../src/platform/clock.js';
import { SecretBox } from '../src/platform/secrets/secret-box.js';

import { ms, percentile, report, timed } from './report.js';

const logger = pino({ level: 'warn' });

export async function foundationBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'marina-bench-'));
  await chmod(dir, 0o711);
  const port = 40000 + Math.floor(Math.random() * 10000);
  try {
    const [first, coldMs] = await timed(() => startEmbeddedPostgres({ dataDir: dir, port, logger, takeOver: true }));
    report('embedded PostgreSQL, first start (initdb)', ms(coldMs));
    await first.stop();
    const [server, warmMs] = await timed(() => startEmbeddedPostgres({ dataDir: dir, port, logger, takeOver: true }));
    report('embedded PostgreSQL, warm start', ms(warmMs));

    const db = connect(server.url, 10);
    const [, migrateMs] = await timed(() => migrate(db));
    report('migrations from empty', ms(migrateMs));

    const config = loadConfig({ MARINA_DATA_DIR: dir, MARINA_LOG_LEVEL: 'warn' });
    const services = createServices({
      db,
      clock: systemClock,
      config,
      logger,
      box: SecretBox.fromPassphrase('bench secret key'),
      connectionString: server.url,
    });
    const app = await buildApp({ config, services, db, logger });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const password = 'correct horse battery staple';
    await services.users.createPlatformAdmin(
      { actor: { kind: 'system', label: 'bench' }, ip: null },
      { email: 'bench@example.com', password },
    );

    const logins: number[] = [];
    let cookie = '';
    let csrf = '';
    for (let i = 0; i < 20; i++) {
      const [response, took] = await timed(() =>
        fetch(`${address}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'bench@example.com', password }),
        }),
      );
      const body = (await response.json()) as { csrfToken: string };
      cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      csrf = body.csrfToken;
      logins.push(took);
    }
    report(
      'sign-in (argon2id 19 MiB, t=2), p50 / p95',
      `${ms(percentile(logins, 50))} / ${ms(percentile(logins, 95))}`,
    );

    const created = await fetch(`${address}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-marina-csrf': csrf },
      body: JSON.stringify({ name: 'bench' }),
    });
    const { secret } = (await created.json()) as { secret: string };

    const total = 3000;
    const concurrency = 8;
    const latencies: number[] = [];
    let next = 0;
    const [, elapsed] = await timed(() =>
      Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < total) {
            next++;
            const [response, took] = await timed(() =>
              fetch(`${address}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } }),
            );
            await response.arrayBuffer();
            if (response.status !== 200) throw new Error(`GET /api/v1/me answered ${response.status}`);
            latencies.push(took);
          }
        }),
      ),
    );
    report(`GET /api/v1/me with a token, ${concurrency} clients`, `${Math.round((total / elapsed) * 1000)} req/s`);
    report(
      '  latency p50 / p95 / p99',
      `${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 95))} / ${ms(percentile(latencies, 99))}`,
    );

    const events = 50_000;
    const admin = { actor: { kind: 'system' as const, label: 'bench' }, ip: '127.0.0.1' };
    const [, fillMs] = await timed(async () => {
      const batch = 1000;
      for (let i = 0; i < events; i += batch) {
        await db
          .insertInto('audit_events')
          .values(
            Array.from({ length: batch }, (_, j) => ({
              at: new Date(Date.now() - (events - i - j) * 1000),
              actor_id: null,
              actor_label: `user${(i + j) % 100}@example.com`,
              organization_id: null,
              action: (i + j) % 10 === 0 ? 'organization.create' : 'auth.login',
              category: (i + j) % 10 === 0 ? 'organization' : 'auth',
              target_type: 'bench',
              target_id: String(i + j),
              target_label: null,
              details: '{}',
              ip: admin.ip,
            })),
          )
          .execute();
      }
    });
    report(`audit trail filled with ${events} events`, ms(fillMs));
    for (const [name, query] of [
      ['audit, newest 50', 'limit=50'],
      ['audit, category filter', 'category=organization&limit=50'],
      ['audit, actor filter', 'actor=user42@example.com&limit=50'],
      ['audit, deep page (cursor)', 'limit=50&cursor=1000'],
    ] as const) {
      const samples: number[] = [];
      for (let i = 0; i < 20; i++) {
        const [response, took] = await timed(() =>
          fetch(`${address}/api/v1/audit?${query}`, { headers: { authorization: `Bearer ${secret}` } }),
        );
        await response.arrayBuffer();
        samples.push(took);
      }
      report(`${name}, p50`, ms(percentile(samples, 50)));
    }

    const memory = process.memoryUsage();
    report(
      'Marina process memory (RSS / heap used)',
      `${Math.round(memory.rss / 2 ** 20)} MiB / ${Math.round(memory.heapUsed / 2 ** 20)} MiB`,
    );

    await app.close();
    await db.destroy();
    await server.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
