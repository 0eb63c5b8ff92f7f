import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import pino from 'pino';
import { createServices, type Services } from '../src/app/services.js';
import { loadConfig, type MarinaConfig } from '../src/config.js';
import { connect, type Db, migrate } from '../src/db/database.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { systemClock } from '../src/platform/clock.js';
import type { OperationView } from '../src/platform/jobs/operations.js';
import { SecretBox } from '../src/platform/secrets/secret-box.js';

export const benchLogger = pino({ level: 'warn' });
export const system = { actor: { kind: 'system' as const, label: 'bench' }, ip: null };

export interface BenchMarina {
  services: Services;
  config: MarinaConfig;
  db: Db;
  namespace: string;
  projectId: string;
  /** Creates an instance and waits for its job; returns the job, the instance's id and its admin's sign-in. */
  provision(
    name: string,
    memoryMb?: number,
  ): Promise<{
    job: OperationView;
    instanceId: string;
    httpPort: number | null;
    credentials: { login: string; password: string };
  }>;
  close(): Promise<void>;
}

/** A Marina with its own embedded database and Docker namespace, for one benchmark. */
export async function benchMarina(env: Record<string, string>): Promise<BenchMarina> {
  const dir = await mkdtemp(join(tmpdir(), 'marina-bench-'));
  await chmod(dir, 0o711);
  const namespace = `mb${randomBytes(3).toString('hex')}`;
  const server = await startEmbeddedPostgres({
    dataDir: dir,
    port: 40000 + Math.floor(Math.random() * 10000),
    logger: benchLogger,
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
    logger: benchLogger,
    box: SecretBox.fromPassphrase('bench secret key'),
    connectionString: server.url,
  });
  await migrate(db);
  await services.startBackground();
  await services.organizations.create(system, { slug: 'bench', name: 'Bench' });
  const project = await services.projects.create(system, { organization: 'bench', name: 'erp', odooVersion: '17.0' });
  return {
    services,
    config,
    db,
    namespace,
    projectId: project.id,
    async provision(name, memoryMb = 1024) {
      const created = await services.instances.create(system, {
        project: project.id,
        name,
        stage: 'development',
        memoryMb,
        adminLogin: 'bench@example.com',
      });
      const job = await new Promise<OperationView>((resolve) => {
        const listener = (op: OperationView) => {
          if (op.status === 'succeeded' || op.status === 'failed') {
            services.operations.bus.off(`op:${created.job.id}`, listener);
            resolve(op);
          }
        };
        services.operations.bus.on(`op:${created.job.id}`, listener);
      });
      if (job.status !== 'succeeded') throw new Error(`provisioning failed: ${job.error?.message}`);
      return {
        job,
        instanceId: created.instance.id,
        httpPort: created.instance.httpPort,
        credentials: created.credentials,
      };
    },
    async close() {
      await services.stopBackground();
      await db.destroy();
      await server.stop();
      await removeNamespace(namespace);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function removeNamespace(namespace: string): Promise<void> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const label = [`io.marina.namespace=${namespace}`];
  for (const c of await docker.listContainers({ all: true, filters: { label } }))
    await docker.getContainer(c.Id).remove({ force: true, v: true });
  for (const v of (await docker.listVolumes({ filters: { label } })).Volumes ?? [])
    await docker.getVolume(v.Name).remove();
  for (const n of await docker.listNetworks({ filters: { label } })) await docker.getNetwork(n.Id).remove();
}

export async function hasTestImages(): Promise<boolean> {
  try {
    await new Docker({ socketPath: '/var/run/docker.sock' }).getImage('marina-test/odoo-standin').inspect();
    return true;
  } catch {
    return false;
  }
}
