import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedRows } from '../bench/scale-seed.js';
import { SecretBox } from '../src/platform/secrets/secret-box.js';
import { adminBrowser, as, type Browser, createTestApp, memberBrowser, type TestApp } from './helpers/app.js';

/**
 * The instance and job lists a page at a time: keyset pages that neither skip nor repeat rows
 * created in the same instant, an organization's own list, and nobody paging into another tenant.
 */
let t: TestApp;
let admin: Browser;
let seeded: Awaited<ReturnType<typeof seedRows>>;

type Page = { instances: { id: string; organizationId: string; createdAt: string }[]; nextCursor: string | null };

beforeAll(async () => {
  t = await createTestApp();
  admin = await adminBrowser(t);
  await t.db
    .insertInto('hosts')
    .values({ id: 'local', name: 'local', docker_host: 'unix:///var/run/docker.sock' })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const box = SecretBox.fromPassphrase('instance list pages test key');
  seeded = await seedRows(t.db, box, {
    namespace: 'mtpages',
    organizations: 3,
    rows: 23,
    running: 0,
    firstPort: 21000,
    jobsPerInstance: 2,
  });
  // Ties: seven instances created in the same instant, the order then falls to the id.
  const tied = seeded.instances.slice(5, 12).map((i) => i.id);
  await t.db
    .updateTable('instances')
    .set({ created_at: sql`${new Date(Date.UTC(2026, 0, 2))}` } as never)
    .where('id', 'in', tied)
    .execute();
  await t.db
    .updateTable('operations')
    .set({ created_at: sql`${new Date(Date.UTC(2026, 0, 3))}` } as never)
    .where('target_id', 'in', tied)
    .execute();
});

afterAll(async () => {
  await t?.close();
});

async function allPages(who: Browser, query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const url: string = `/api/v1/instances?${query}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const response = await as(t, who)('GET', url);
    expect(response.statusCode, response.body).toBe(200);
    const page = response.json<Page>();
    expect(page.instances.length).toBeLessThanOrEqual(limit);
    ids.push(...page.instances.map((i) => i.id));
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  return { ids, pages };
}

describe('instance list pages', () => {
  it('walks every instance once, newest first, in pages, the same order as the whole list', async () => {
    const whole = (await as(t, admin)('GET', '/api/v1/instances')).json<Page>();
    expect(whole.nextCursor).toBeNull();
    expect(whole.instances).toHaveLength(23);
    const paged = await allPages(admin, '', 4);
    expect(paged.pages).toBe(6);
    expect(paged.ids).toEqual(whole.instances.map((i) => i.id));
    expect(new Set(paged.ids).size).toBe(23);
    const created = whole.instances.map((i) => Date.parse(i.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });

  it('lists one organization’s instances for its page', async () => {
    const org = seeded.organizationIds[1] ?? '';
    const paged = await allPages(admin, `organization=${org}&`, 3);
    const expected = seeded.instances.filter((i) => i.organization_id === org).map((i) => i.id);
    expect(paged.ids.sort()).toEqual(expected.sort());
  });

  it('keeps a member to their organizations, whatever the filter or cursor', async () => {
    const [mine, other] = seeded.slugs;
    const member = await memberBrowser(t, admin, mine ?? '', 'pager@example.com', 'viewer');
    const paged = await allPages(member, '', 5);
    const own = seeded.instances.filter((i) => i.organization_id === seeded.organizationIds[0]).map((i) => i.id);
    expect(paged.ids.sort()).toEqual(own.sort());
    const otherId = seeded.organizationIds[1] ?? '';
    expect(other).toBeDefined();
    const refused = await as(t, member)('GET', `/api/v1/instances?organization=${otherId}`);
    expect(refused.statusCode).toBe(404);
    // A cursor from another organization still shows only the member's own instances.
    const foreign = seeded.instances.find((i) => i.organization_id === otherId)?.id ?? '';
    const page = (await as(t, member)('GET', `/api/v1/instances?limit=50&cursor=${foreign}`)).json<Page>();
    expect(page.instances.every((i) => i.organizationId === seeded.organizationIds[0])).toBe(true);
  });

  it('refuses an unknown cursor and a limit out of range, and changes nothing', async () => {
    const unknown = await as(t, admin)('GET', `/api/v1/instances?limit=5&cursor=${crypto.randomUUID()}`);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json<{ error: { details: { field: string } } }>().error.details.field).toBe('cursor');
    expect((await as(t, admin)('GET', '/api/v1/instances?limit=0')).statusCode).toBe(400);
    expect((await as(t, admin)('GET', '/api/v1/instances?limit=501')).statusCode).toBe(400);
  });

  it('pages jobs created in the same instant without skipping or repeating one', async () => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/jobs?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await as(t, admin)('GET', url)).json<{ jobs: { id: string }[]; nextCursor: string | null }>();
      ids.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor);
    const total = await t.db
      .selectFrom('operations')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(Number(total.n));
  });
});
