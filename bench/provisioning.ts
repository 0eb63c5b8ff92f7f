/**
 * Provisioning time: from the API request to the moment the new Odoo answers /web/login with 200,
 * and how it splits into the job's steps. On the stand-in always; on real Odoo 17 with ODOO_SOURCE.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { systemClock } from '../src/core/clock.js';
import type { OperationView } from '../src/core/operations.js';
import { SecretBox } from '../src/core/secret-box.js';
import { createServices } from '../src/core/services.js';
import { connect, migrate } from '../src/db/database.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { ms, percentile, report } from './report.js';

const logger = pino({ level: 'warn' });
const system = { actor: { kind: 'system' as const, label: 'bench' }, ip: null };

async function removeNamespace(namespace: string): Promise<void> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const label = [`io.marina.namespace=${namespace}`];
  for (const c of await docker.listContainers({ all: true, filters: { label } }))
    await docker.getContainer(c.Id).remove({ force: true, v: true });
  for (const v of (await docker.listVolumes({ filters: { label } })).Volumes ?? [])
    await docker.getVolume(v.Name).remove();
  for (const n of await docker.listNetworks({ filters: { label } })) await docker.getNetwork(n.Id).remove();
}

async function measure(label: string, env: Record<string, string>, runs: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'marina-bench-prov-'));
  await chmod(dir, 0o711);
  const namespace = `mb${randomBytes(3).toString('hex')}`;
  const server = await startEmbeddedPostgres({
    dataDir: dir,
    port: 40000 + Math.floor(Math.random() * 10000),
    logger,
    takeOver: true,
  });
  const db = connect(server.url, 10);
  const from = 22000 + Math.floor(Math.random() * 80) * 100;
  const config = loadConfig({
    MARINA_DATA_DIR: dir,
    MARINA_LOG_LEVEL: 'warn',
    MARINA_NAMESPACE: namespace,
    MARINA_POSTGRES_IMAGE: 'marina-test/postgres:15',
    MARINA_INSTANCE_BIND: '127.0.0.1',
    MARINA_INSTANCE_PORTS: `${from}-${from + 99}`,
    ...env,
  });
  const services = createServices({
    db,
    clock: systemClock,
    config,
    logger,
    box: SecretBox.fromPassphrase('bench secret key'),
    connectionString: server.url,
  });
  try {
    await migrate(db);
    await services.startBackground();
    await services.organizations.create(system, { slug: 'bench', name: 'Bench' });
    const project = await services.projects.create(system, { organization: 'bench', name: 'erp', odooVersion: '17.0' });
    const totals: number[] = [];
    const steps = new Map<string, number[]>();
    // The first instance also creates the managed PostgreSQL server: measured apart.
    for (let run = 0; run <= runs; run++) {
      const started = performance.now();
      const created = await services.instances.create(system, {
        project: project.id,
        name: `i${run}`,
        stage: 'development',
        memoryMb: 1024,
        adminLogin: 'bench@example.com',
      });
      const final = await new Promise<OperationView>((resolve) => {
        const listener = (op: OperationView) => {
          if (op.status === 'succeeded' || op.status === 'failed') {
            services.operations.bus.off(`op:${created.job.id}`, listener);
            resolve(op);
          }
        };
        services.operations.bus.on(`op:${created.job.id}`, listener);
      });
      if (final.status !== 'succeeded') throw new Error(`provisioning failed: ${final.error?.message}`);
      const url = services.instances.internalUrl({ http_port: created.instance.httpPort });
      while ((await fetch(`${url}/web/login`).catch(() => undefined))?.status !== 200)
        await new Promise((r) => setTimeout(r, 20));
      const total = performance.now() - started;
      if (run === 0) {
        report(`${label}: first instance (creates the PostgreSQL server)`, ms(total));
        continue;
      }
      totals.push(total);
      for (const step of final.steps) {
        if (!step.startedAt || !step.finishedAt) continue;
        const took = new Date(step.finishedAt).getTime() - new Date(step.startedAt).getTime();
        steps.set(step.name, [...(steps.get(step.name) ?? []), took]);
      }
    }
    report(
      `${label}: request → /web/login 200, median of ${runs}`,
      `${ms(percentile(totals, 50))} (min ${ms(Math.min(...totals))}, max ${ms(Math.max(...totals))})`,
    );
    for (const [name, values] of steps) report(`  step ${name}, median`, ms(percentile(values, 50)));
  } finally {
    await services.stopBackground();
    await db.destroy();
    await server.stop();
    await removeNamespace(namespace);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function provisioningBench(): Promise<void> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  try {
    await docker.getImage('marina-test/odoo-standin').inspect();
  } catch {
    report(
      'provisioning',
      'skipped: no Docker engine or test images (bash scripts/ensure-docker.sh && bash scripts/build-test-images.sh)',
    );
    return;
  }
  await measure('stand-in', { MARINA_ODOO_17_IMAGE: 'marina-test/odoo-standin' }, 5);
  const source = process.env.ODOO_SOURCE;
  if (!source) {
    report('real Odoo 17', 'skipped: set ODOO_SOURCE to an Odoo source tree');
    return;
  }
  await measure('real Odoo 17', { MARINA_ODOO_17_IMAGE: 'marina-test/odoo-runtime', MARINA_ODOO_17_SOURCE: source }, 3);
}
