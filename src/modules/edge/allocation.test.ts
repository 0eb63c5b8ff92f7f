import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { makeProject } from '../../../test/helpers/factories.js';
import { MemoryRuntime } from '../../runtime/memory.js';
import { backfillEdgeIdentities } from './backfill.js';
import { isEdgeIp } from './names.js';

/**
 * Names and addresses given when instances are created, and to older instances at start. On the
 * in-memory runtime: only the records matter here (test/edge-routing.test.ts runs the real edge).
 */
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
let t: TestApp;
let admin: Browser;

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtmemedgenames',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
      MARINA_BASE_DOMAIN: 'Apps.Example.TEST.',
      MARINA_EDGE_NAME_PATTERN: '{instance}',
      // Nothing listens there: the loads fail and are retried quietly; names do not need Caddy.
      MARINA_CADDY_ADMIN_URL: 'http://127.0.0.1:1',
      MARINA_EDGE_HTTPS_PORT: '8443',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  admin = await adminBrowser(t);
  await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
});

afterAll(async () => {
  await t?.close();
});

async function create(project: string, name: string, memoryMb = 768) {
  const made = await as(t, admin)('POST', '/api/v1/instances', {
    project,
    name,
    stage: 'staging',
    memoryMb,
    adminLogin: 'o@acme.test',
  });
  expect(made.statusCode, made.body).toBe(202);
  const body = made.json<{ instance: { id: string; hostname: string; url: string } }>();
  return { ...body.instance, row: await t.services.instances.row(body.instance.id) };
}

describe('platform names and edge addresses', () => {
  it('names a new instance from the pattern, unique with -2, never a reserved word', async () => {
    const erp = await makeProject(as(t, admin), { name: 'erp' });
    const crm = await makeProject(as(t, admin), { name: 'crm' });
    const first = await create(erp.id, 'main');
    const second = await create(crm.id, 'main');
    const reserved = await create(erp.id, 'www');
    expect(first.hostname).toBe('main.apps.example.test');
    expect(second.hostname).toBe('main-2.apps.example.test');
    expect(reserved.hostname).toBe('www-2.apps.example.test');
    expect(first.url).toBe('https://main.apps.example.test:8443');
    const ips = [first, second, reserved].map((i) => i.row.edge_ip ?? '');
    expect(ips.every(isEdgeIp)).toBe(true);
    expect(new Set(ips).size).toBe(3);
    // 768 MB runs threaded (no workers): no gevent port.
    expect(first.row.gevent_port).toBeNull();
  });

  it('gives an instance with workers a gevent port of its own', async () => {
    const project = await makeProject(as(t, admin), { name: 'big' });
    const big = await create(project.id, 'big', 4096);
    expect(big.row.gevent_port).not.toBeNull();
    expect(big.row.gevent_port).not.toBe(big.row.http_port);
    const ports = (await t.db.selectFrom('instances').select(['http_port', 'gevent_port']).execute()).flatMap((r) => [
      r.http_port,
      r.gevent_port,
    ]);
    expect(ports.filter((p) => p === big.row.gevent_port)).toHaveLength(1);
  });

  it('back-fills instances made before the edge was on', async () => {
    const project = await makeProject(as(t, admin), { name: 'old' });
    const old = await create(project.id, 'legacy', 2048);
    await t.db
      .updateTable('instances')
      .set({ hostname: null, edge_ip: null, gevent_port: null })
      .where('id', '=', old.id)
      .execute();
    const count = await backfillEdgeIdentities({
      db: t.db,
      edge: { baseDomain: 'apps.example.test', namePattern: '{instance}' },
      instances: t.services.instances,
      logger: pino({ level: 'silent' }),
    });
    expect(count).toBe(1);
    const row = await t.services.instances.row(old.id);
    expect(row.hostname).toBe('legacy.apps.example.test');
    expect(isEdgeIp(row.edge_ip ?? '')).toBe(true);
    expect(row.gevent_port).not.toBeNull();
  });
});
