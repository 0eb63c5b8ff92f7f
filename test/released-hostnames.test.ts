import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { allocateEdgeIdentity } from '../src/modules/edge/allocation.js';
import { subdomainAnswer } from '../src/modules/signup/checks.js';
import { SIGNUP_SETTINGS_KEY } from '../src/modules/signup/settings.js';
import { MarinaError } from '../src/platform/errors.js';
import { MemoryRuntime } from '../src/runtime/memory.js';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from './helpers/app.js';
import { makeProject } from './helpers/factories.js';

/**
 * Findings 3 and 8 of the sign-up review, on real PostgreSQL and the in-memory runtime (only the
 * records matter: test/edge-routing.test.ts runs the real edge): a deleted instance's platform
 * hostname is never given again, and the console's own label (its public URL under the base
 * domain) is never an instance's or a sign-up's.
 */
const IMAGE = 'marina-test/odoo-standin';
const BASE = 'apps.released.test';
const memory = new MemoryRuntime({ images: [IMAGE] });
const edge = { baseDomain: BASE, namePattern: '{instance}', publicUrl: `https://my-marina.${BASE}` };
let t: TestApp;
let admin: Browser;
let projectId: string;
let organizationId: string;

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtmemreleased',
      MARINA_PUBLIC_URL: `https://my-marina.${BASE}`,
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
      MARINA_BASE_DOMAIN: BASE,
      MARINA_EDGE_NAME_PATTERN: '{instance}',
      // Nothing listens there: the loads fail and are retried quietly; names do not need Caddy.
      MARINA_CADDY_ADMIN_URL: 'http://127.0.0.1:1',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  admin = await adminBrowser(t);
  await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
  const project = await makeProject(as(t, admin), { name: 'erp' });
  projectId = project.id;
  const row = await t.db
    .selectFrom('projects')
    .select('organization_id')
    .where('id', '=', projectId)
    .executeTakeFirst();
  organizationId = row?.organization_id ?? '';
  // Sign-up opened by its settings row (SMTP is not needed to answer the subdomain check).
  await t.db
    .insertInto('settings')
    .values({
      key: SIGNUP_SETTINGS_KEY,
      value: JSON.stringify({ enabled: true }),
      updated_at: t.clock.now(),
      updated_by: admin.userId,
    })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify({ enabled: true }) }))
    .execute();
}, 120_000);

afterAll(async () => {
  await t?.close();
});

async function create(name: string) {
  const made = await as(t, admin)('POST', '/api/v1/instances', {
    project: projectId,
    name,
    stage: 'staging',
    memoryMb: 768,
    adminLogin: 'o@acme.test',
  });
  expect(made.statusCode, made.body).toBe(202);
  return made.json<{ instance: { id: string; hostname: string } }>().instance;
}

/** Deletes through the API and waits until the delete job has removed the record. */
async function deleteInstance(id: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  // Its provisioning job (on the in-memory runtime) may still run: a delete waits for it.
  let deleting = await as(t, admin)('DELETE', `/api/v1/instances/${id}`);
  while (deleting.statusCode === 409 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    deleting = await as(t, admin)('DELETE', `/api/v1/instances/${id}`);
  }
  expect(deleting.statusCode, deleting.body).toBe(202);
  while (await t.db.selectFrom('instances').select('id').where('id', '=', id).executeTakeFirst()) {
    if (Date.now() > deadline) throw new Error(`instance ${id} was not deleted`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const allocate = (exactLabel?: string) =>
  allocateEdgeIdentity(t.db, edge, { instance: 'shop', projectId, organizationId, exactLabel });

async function refusedCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof MarinaError ? error.code : String(error);
  }
}

const settings = { reservedNames: [] };

describe('a deleted instance’s platform hostname', () => {
  it('is remembered when the instance is deleted, and never given again', async () => {
    const first = await create('shop');
    expect(first.hostname).toBe(`shop.${BASE}`);
    await deleteInstance(first.id);
    const released = await t.db.selectFrom('released_hostnames').selectAll().execute();
    expect(released.map((r) => r.hostname)).toContain(`shop.${BASE}`);

    // A generated name skips it, as it would skip a living instance's.
    const again = await create('shop');
    expect(again.hostname).toBe(`shop-2.${BASE}`);
    // A chosen (exact) name is refused, never quietly given a -2.
    expect(await refusedCode(allocate('shop'))).toBe('MARINA_E_NAME_TAKEN');
    // A free one is still given exactly.
    expect((await allocate('shop-free')).hostname).toBe(`shop-free.${BASE}`);
  });

  it('is answered taken by the sign-up subdomain check (function and service)', async () => {
    const doomed = await create('gone-soon');
    expect(doomed.hostname).toBe(`gone-soon.${BASE}`);
    const before = await subdomainAnswer(t.db, settings, { baseDomain: BASE }, 'gone-soon');
    expect(before.reason).toBe('taken');
    await deleteInstance(doomed.id);

    const after = await subdomainAnswer(t.db, settings, { baseDomain: BASE }, 'gone-soon');
    expect(after).toMatchObject({ available: false, reason: 'taken' });
    const asked = await t.services.signups.subdomain({ actor: null, ip: '10.1.2.3' }, 'gone-soon');
    expect(asked).toMatchObject({ available: false, reason: 'taken' });
    const free = await t.services.signups.subdomain({ actor: null, ip: '10.1.2.3' }, 'never-used');
    expect(free).toMatchObject({ available: true, reason: null });
  });

  it('is written once even when the same name is released twice (idempotent)', async () => {
    const made = await create('twice');
    await t.db
      .insertInto('released_hostnames')
      .values({ hostname: `twice.${BASE}` })
      .execute();
    await deleteInstance(made.id);
    const rows = await t.db
      .selectFrom('released_hostnames')
      .selectAll()
      .where('hostname', '=', `twice.${BASE}`)
      .execute();
    expect(rows).toHaveLength(1);
  });
});

describe('the console’s own label', () => {
  it('is reserved when the public URL is directly under the base domain', async () => {
    // Generated names skip it, exact ones are refused.
    const named = await create('my-marina');
    expect(named.hostname).toBe(`my-marina-2.${BASE}`);
    expect(await refusedCode(allocate('my-marina'))).toBe('MARINA_E_NAME_TAKEN');
    // The sign-up check (service: the configured public URL; function: the URL passed).
    const asked = await t.services.signups.subdomain({ actor: null, ip: '10.1.2.4' }, 'my-marina');
    expect(asked).toMatchObject({ available: false, reason: 'reserved' });
    const elsewhere = await subdomainAnswer(
      t.db,
      settings,
      { baseDomain: BASE, publicUrl: 'https://my-marina.other.test' },
      'my-marina',
    );
    expect(elsewhere).toMatchObject({ available: true });
  });

  it('refuses the mail and service names clients look up by convention', async () => {
    for (const name of ['mta-sts', 'autoconfig', 'autodiscover']) {
      expect(await subdomainAnswer(t.db, settings, { baseDomain: BASE }, name)).toMatchObject({ reason: 'reserved' });
      expect(await refusedCode(allocate(name))).toBe('MARINA_E_NAME_TAKEN');
    }
  });
});
