import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';

export const docker = new Docker({ socketPath: '/var/run/docker.sock' });

export const TEST_IMAGES = {
  postgres: 'marina-test/postgres:15',
  standin: 'marina-test/odoo-standin',
  runtime: 'marina-test/odoo-runtime',
} as const;

/** Docker and the test images are required engines here: say how to get them, loudly. */
export async function requireDocker(): Promise<void> {
  try {
    await docker.ping();
  } catch {
    throw new Error(
      'No Docker engine on /var/run/docker.sock: run `bash scripts/ensure-docker.sh` (npm test does it).',
    );
  }
  for (const image of [TEST_IMAGES.postgres, TEST_IMAGES.standin]) {
    try {
      await docker.getImage(image).inspect();
    } catch {
      throw new Error(
        `The test image ${image} is missing: run \`bash scripts/build-test-images.sh\` (npm test does it).`,
      );
    }
  }
}

/** A namespace of its own per test file, so files running at once never share Docker objects. */
export const testNamespace = (): string => `mt${randomBytes(4).toString('hex')}`;

/**
 * Host ports for one test file's instances. Files that run at the same time are in different
 * vitest workers, so a range per worker never overlaps another running file's.
 */
export function randomPortRange(): string {
  const worker = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? 1);
  const from = 21000 + (worker % 40) * 500 + Math.floor(Math.random() * 4) * 100;
  return `${from}-${from + 99}`;
}

/** Removes every container, volume and network of a namespace (the test's own cleanup). */
export async function removeNamespace(namespace: string): Promise<void> {
  const label = [`io.marina.namespace=${namespace}`];
  for (const c of await docker.listContainers({ all: true, filters: { label } })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }
  const { Volumes } = await docker.listVolumes({ filters: { label } });
  // And those Docker made, unlabelled, for a mount of a volume that did not exist (the runtime contract's).
  const { Volumes: named } = await docker.listVolumes({ filters: { name: [`${namespace}-`] } });
  const unlabelled = (named ?? []).filter((v) => v.Name.startsWith(`${namespace}-`));
  for (const v of [...(Volumes ?? []), ...unlabelled])
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
  for (const n of await docker.listNetworks({ filters: { label } }))
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
  const { rm } = await import('node:fs/promises');
  await rm(join(tmpdir(), `marina-backups-${namespace}`), { recursive: true, force: true });
}

export async function namespaceObjects(namespace: string): Promise<{ containers: string[]; volumes: string[] }> {
  const label = [`io.marina.namespace=${namespace}`];
  const containers = (await docker.listContainers({ all: true, filters: { label } })).map((c) =>
    (c.Names[0] ?? '').replace(/^\//, ''),
  );
  const volumes = ((await docker.listVolumes({ filters: { label } })).Volumes ?? []).map((v) => v.Name);
  // Docker lists in no fixed order.
  return { containers: containers.sort(), volumes: volumes.sort() };
}

/**
 * A Marina on the real Docker engine for one test file: its own namespace and ports, jobs and
 * event tracking running, listening on loopback, with a platform admin and the organization "acme".
 */
export async function startDockerMarina(
  namespace: string,
  env: Record<string, string>,
  options: import('./app.js').TestAppOptions = {},
) {
  const { adminBrowser, as, createTestApp } = await import('./app.js');
  const t = await createTestApp(
    {
      MARINA_NAMESPACE: namespace,
      MARINA_POSTGRES_IMAGE: TEST_IMAGES.postgres,
      MARINA_INSTANCE_BIND: '127.0.0.1',
      MARINA_INSTANCE_PORTS: randomPortRange(),
      // Each test Marina keeps its backups apart: test apps share a data folder.
      MARINA_BACKUPS_DIR: join(tmpdir(), `marina-backups-${namespace}`),
      ...env,
    },
    options,
  );
  await t.services.startBackground();
  // A given MARINA_PORT is where others reach this Marina (the edge proxy's `ask` URL): listen there.
  await t.app.listen({ host: '127.0.0.1', port: env.MARINA_PORT ? Number(env.MARINA_PORT) : 0 });
  const address = t.app.server.address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const admin = await adminBrowser(t);
  await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
  return { t, admin, baseUrl, headers: { cookie: admin.cookie, 'x-marina-csrf': admin.csrf } };
}

/** Creates a project and an instance through the API and waits for its provisioning job. */
export async function provisionInstance(
  marina: Pick<Awaited<ReturnType<typeof startDockerMarina>>, 't' | 'admin' | 'baseUrl'> & {
    headers: Record<string, string>;
  },
  options: {
    project?: string;
    version?: string;
    name?: string;
    memoryMb?: number;
    timeoutMs?: number;
    stage?: 'production' | 'staging' | 'development';
  } = {},
): Promise<{ instance: { id: string; url: string; name: string; dbName: string }; password: string }> {
  const { as } = await import('./app.js');
  const { followJob } = await import('./jobs.js');
  const { makeProject, requestInstance } = await import('./factories.js');
  const call = as(marina.t, marina.admin);
  const project = await makeProject(call, { name: options.project ?? 'erp', odooVersion: options.version ?? '17.0' });
  const created = await requestInstance(call, {
    project: project.id,
    name: options.name ?? 'main',
    memoryMb: options.memoryMb ?? 768,
    ...(options.stage ? { stage: options.stage } : {}),
  });
  const { job } = await followJob(marina.baseUrl, marina.headers, created.job.id, options.timeoutMs);
  if (job.status !== 'succeeded') throw new Error(`provisioning failed: ${JSON.stringify(job.error)}`);
  const instance = (await call('GET', `/api/v1/instances/${created.instance.id}`)).json().instance;
  return { instance, password: created.credentials.password };
}
