/**
 * Logs: end-to-end latency (Odoo writes a line → a streaming client has it), throughput of one
 * stream (lines/s, Docker → parser → SSE → client), and Marina's memory with 20 open streams.
 * Runs on the stand-in (its werkzeug lines have Odoo's format); loopback only.
 */
import Docker from 'dockerode';
import { buildApp } from '../src/app/http.js';
import { benchLogger, benchMarina, hasTestImages, system } from './marina.js';
import { ms, percentile, report } from './report.js';

interface Client {
  entries: number;
  waitFor(check: (data: { http?: { path: string } | null }) => boolean): Promise<number>;
  close(): void;
}

function sse(url: string, token: string): Client {
  const controller = new AbortController();
  const waiters = new Set<{
    check: (d: { http?: { path: string } | null }) => boolean;
    resolve: (at: number) => void;
  }>();
  const client: Client = {
    entries: 0,
    waitFor: (check) => new Promise((resolve) => waiters.add({ check, resolve })),
    close: () => controller.abort(),
  };
  (async () => {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let split = buffer.indexOf('\n\n');
      while (split >= 0) {
        const block = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        split = buffer.indexOf('\n\n');
        if (!block.startsWith('id: ') && !block.includes('\nevent: entry')) continue;
        client.entries++;
        if (waiters.size === 0) continue;
        const data = JSON.parse(/^data: (.+)$/m.exec(block)?.[1] ?? '{}');
        for (const waiter of waiters) {
          if (waiter.check(data)) {
            waiters.delete(waiter);
            waiter.resolve(performance.now());
          }
        }
      }
    }
  })().catch(() => undefined);
  return client;
}

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

export async function logsBench(): Promise<void> {
  if (!(await hasTestImages())) {
    report('logs', 'skipped: no Docker engine or test images');
    return;
  }
  const marina = await benchMarina({ MARINA_ODOO_17_IMAGE: 'marina-test/odoo-standin' });
  const app = await buildApp({ config: marina.config, services: marina.services, db: marina.db, logger: benchLogger });
  try {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const { instanceId } = await marina.provision('logs', 768);
    const odoo = await marina.services.instances.internalUrl(await marina.services.instances.row(instanceId));
    const admin = await marina.services.users.createPlatformAdmin(system, {
      email: 'bench@example.com',
      password: 'correct horse battery staple',
    });
    const { secret } = await marina.services.tokens.create(
      {
        actor: { kind: 'user', userId: admin.id, email: admin.email, isPlatformAdmin: true, via: 'session' },
        ip: null,
      },
      { name: 'bench' },
    );
    const stream = `${base}/api/v1/instances/${instanceId}/logs/stream?tail=50`;

    // Latency: a request to Odoo, until its werkzeug line reaches a streaming client.
    const one = sse(stream, secret);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const path = `/web/login?latency=${i}`;
      const started = performance.now();
      const seen = one.waitFor((d) => d.http?.path === path);
      await fetch(`${odoo}${path}`);
      latencies.push((await seen) - started);
    }
    report(
      'log line → streaming client, p50 / p95 (incl. the request)',
      `${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 95))}`,
    );

    // Memory: 20 open streams while Odoo serves a steady load.
    global.gc?.();
    const before = process.memoryUsage();
    const clients = Array.from({ length: 20 }, () => sse(stream, secret));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const end = performance.now() + 10_000;
    let requests = 0;
    while (performance.now() < end) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          fetch(`${odoo}/web/login?load=${requests + i}`).then((r) => r.arrayBuffer()),
        ),
      );
      requests += 10;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const during = process.memoryUsage();
    const delivered = clients.reduce((sum, c) => sum + c.entries, 0);
    report('20 streams × 10 s of traffic: requests / entries delivered', `${requests} / ${delivered}`);
    report(
      '  Marina heap used before → with 20 streams',
      `${mib(before.heapUsed)} → ${mib(during.heapUsed)} (RSS ${mib(before.rss)} → ${mib(during.rss)})`,
    );
    for (const c of clients) c.close();
    one.close();

    // Throughput: a container that prints 100 000 Odoo-format lines at once, read through one
    // stream. The bench points the instance at it (the log pipeline does not care whose log it is).
    const docker = new Docker({ socketPath: '/var/run/docker.sock' });
    const lines = 100_000;
    const generator = await docker.createContainer({
      Image: 'marina-test/odoo-standin',
      Entrypoint: ['python3', '-c'],
      Cmd: [
        `import time,sys\ntime.sleep(2)\nw=sys.stdout.write\nfor i in range(${lines}): w('2026-11-21 09:00:00,%03d 7 INFO bench werkzeug: 127.0.0.1 - - [21/Nov/2026 09:00:00] "GET /web/login?n=%d HTTP/1.1" 200 - 3 0.002 0.010\\n' % (i % 1000, i))\nsys.stdout.flush()\ntime.sleep(600)`,
      ],
      Labels: { 'io.marina.namespace': marina.namespace },
    });
    await generator.start();
    await marina.db
      .updateTable('instances')
      .set({ container_name: generator.id })
      .where('id', '=', instanceId)
      .execute();
    const reader = sse(stream, secret);
    const last = reader.waitFor((d) => d.http?.path === `/web/login?n=${lines - 1}`);
    const firstAt = await reader.waitFor((d) => d.http?.path === '/web/login?n=0');
    const lastAt = await last;
    report(
      `one stream, ${lines.toLocaleString('en')} lines (Docker → parse → SSE → client)`,
      `${Math.round((lines / (lastAt - firstAt)) * 1000).toLocaleString('en')} lines/s`,
    );
    reader.close();
    await generator.remove({ force: true });
  } finally {
    await app.close();
    await marina.close();
  }
}
