import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type TestApp } from '../../../test/helpers/app.js';
import {
  docker,
  namespaceObjects,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import { makeProject, requestInstance } from '../../../test/helpers/factories.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { rpcLogin } from '../../../test/helpers/odoo.js';
import { databaseExists, roleExists, waitUntilReady } from '../../adapters/postgres/admin.js';

/**
 * Instances on an external PostgreSQL server (MARINA_ODOO_DATABASE_URL) instead of the managed
 * container. The "external" server is a PostgreSQL in the host's network namespace, listening only
 * on the docker0 address, which Marina (on the host) and the Odoo containers both reach.
 */
const namespace = testNamespace();
const password = randomBytes(12).toString('hex');
const port = 45000 + Math.floor(Math.random() * 5000);
let address: string;
let t: TestApp;
let admin: Browser;
let baseUrl: string;

const server = () => ({ host: address, port, user: 'postgres', password });

beforeAll(async () => {
  await requireDocker();
  // docker0's address: the first of the default bridge's subnet (its gateway), a host address.
  const bridge = await docker.getNetwork('bridge').inspect();
  const config = (bridge.IPAM?.Config ?? [])[0] as { Subnet?: string; Gateway?: string } | undefined;
  const base = config?.Gateway ?? config?.Subnet?.replace(/\.0\/\d+$/, '.1');
  if (!base || !/^\d+\.\d+\.\d+\.\d+$/.test(base)) throw new Error("no address for Docker's default bridge");
  address = base;
  const container = await docker.createContainer({
    name: `${namespace}-external-pg`,
    Image: TEST_IMAGES.postgres,
    Cmd: ['postgres', '-c', `listen_addresses=${address}`, '-p', String(port)],
    Env: [`POSTGRES_PASSWORD=${password}`],
    Labels: { 'io.marina.namespace': namespace },
    HostConfig: { NetworkMode: 'host' },
  });
  await container.start();
  await waitUntilReady(server(), 60_000);
  ({ t, admin, baseUrl } = await startDockerMarina(namespace, {
    MARINA_ODOO_DATABASE_URL: `postgres://postgres:${password}@${address}:${port}/postgres`,
    MARINA_POSTGRES_IMAGE: 'marina-test/not-used:1',
    // pg_dump for the pre-delete safety backup: a client as new as the server.
    MARINA_BACKUP_TOOLS_IMAGE: TEST_IMAGES.postgres,
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
  }));
}, 120_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
});

describe('an external PostgreSQL server', () => {
  it('holds the instance database and role, and no managed server is created', { timeout: 120_000 }, async () => {
    const headers = { cookie: admin.cookie, 'x-marina-csrf': admin.csrf };
    const project = await makeProject(as(t, admin));
    const created = await requestInstance(as(t, admin), { project: project.id });
    const { job } = await followJob(baseUrl, headers, created.job.id);
    expect(job.error).toBeNull();
    const instance = (await as(t, admin)('GET', `/api/v1/instances/${created.instance.id}`)).json().instance;
    expect(await databaseExists(server(), instance.dbName)).toBe(true);
    expect(await roleExists(server(), instance.dbName)).toBe(true);
    const login = await rpcLogin(instance.url, instance.dbName, 'o@acme.test', created.credentials.password);
    expect(login.result?.uid).toBeGreaterThan(0);
    expect((await namespaceObjects(namespace)).containers.filter((c) => c.includes('-postgres-'))).toEqual([]);
    const stats = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}/stats`)).json().stats;
    expect(stats.databaseBytes).toBeGreaterThan(0);

    const del = await as(t, admin)('DELETE', `/api/v1/instances/${instance.id}`);
    expect((await followJob(baseUrl, headers, del.json().job.id)).job.status).toBe('succeeded');
    expect(await databaseExists(server(), instance.dbName)).toBe(false);
    expect(await roleExists(server(), instance.dbName)).toBe(false);
  });
});
