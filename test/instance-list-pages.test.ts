import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedRows } from '../bench/scale-seed.js';
import { MarinaClient } from '../src/cli/api/client.js';
import { instancePages } from '../src/cli/instance-pages.js';
import { registerInstanceCommands } from '../src/cli/instances.js';
import { SecretBox } from '../src/platform/secrets/secret-box.js';
import { adminBrowser, as, type Browser, createTestApp, memberBrowser, type TestApp } from './helpers/app.js';

/**
 * The instance and job lists a page at a time: keyset pages that neither skip nor repeat rows
 * created in the same instant, counts of the whole list on the first page, an organization's own
 * list, a search by part of a name, nobody paging or searching into another tenant, and
 * `marina instances ls` following the pages.
 */
let t: TestApp;
let admin: Browser;
let seeded: Awaited<ReturnType<typeof seedRows>>;

type Page = {
  instances: { id: string; name: string; organizationId: string; createdAt: string }[];
  nextCursor: string | null;
  total: number | null;
  running: number | null;
};
/** Set running (or unhealthy) below: what the first page counts as running. */
let runningIds: string[] = [];

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
  runningIds = [0, 3, 8, 17].map((i) => seeded.instances[i]?.id ?? '');
  await t.db.updateTable('instances').set({ status: 'running' }).where('id', 'in', runningIds.slice(1)).execute();
  await t.db
    .updateTable('instances')
    .set({ status: 'unhealthy' })
    .where('id', '=', runningIds[0] ?? '')
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

  it('counts the whole list, and how many run, on the first page only', async () => {
    const first = (await as(t, admin)('GET', '/api/v1/instances?limit=4')).json<Page>();
    expect(first.instances).toHaveLength(4);
    expect([first.total, first.running]).toEqual([23, 4]);
    const second = (await as(t, admin)('GET', `/api/v1/instances?limit=4&cursor=${first.nextCursor}`)).json<Page>();
    expect([second.total, second.running]).toEqual([null, null]);
    const whole = (await as(t, admin)('GET', '/api/v1/instances')).json<Page>();
    expect([whole.total, whole.running]).toEqual([23, 4]);
    // Narrowed by the same filters as the rows.
    const org = seeded.organizationIds[0] ?? '';
    const own = seeded.instances.filter((i) => i.organization_id === org);
    const ofOrg = (await as(t, admin)('GET', `/api/v1/instances?organization=${org}&limit=2`)).json<Page>();
    expect(ofOrg.total).toBe(own.length);
    expect(ofOrg.running).toBe(own.filter((i) => runningIds.includes(i.id)).length);
  });

  it('skips the counts when asked (counts=false): the same page, total and running null', async () => {
    const counted = (await as(t, admin)('GET', '/api/v1/instances?limit=4')).json<Page>();
    const uncounted = (await as(t, admin)('GET', '/api/v1/instances?limit=4&counts=false')).json<Page>();
    expect(uncounted.instances.map((i) => i.id)).toEqual(counted.instances.map((i) => i.id));
    expect([uncounted.nextCursor, uncounted.total, uncounted.running]).toEqual([counted.nextCursor, null, null]);
    expect((await as(t, admin)('GET', '/api/v1/instances?limit=4&counts=true')).json<Page>().total).toBe(23);
    expect((await as(t, admin)('GET', '/api/v1/instances?limit=4&counts=maybe')).statusCode).toBe(400);
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
    // The count is of the member's own instances too.
    const first = (await as(t, member)('GET', '/api/v1/instances?limit=1')).json<Page>();
    expect(first.total).toBe(own.length);
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

describe('instance search', () => {
  const search = async (who: Browser, query: string) => {
    const response = await as(t, who)('GET', `/api/v1/instances?${query}`);
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Page>();
  };
  const named = (part: string) => seeded.instances.filter((i) => i.name.includes(part)).map((i) => i.id);

  it('matches a part of the name in any case, in pages, counted on the first', async () => {
    const expected = named('i0001');
    expect(expected).toHaveLength(10);
    const whole = await search(admin, 'search=I0001');
    expect(whole.instances.map((i) => i.id).sort()).toEqual([...expected].sort());
    const paged = await allPages(admin, 'search=i0001&', 4);
    expect(paged.pages).toBe(3);
    expect(paged.ids).toEqual(whole.instances.map((i) => i.id));
    const first = await search(admin, 'search=i0001&limit=4');
    expect(first.total).toBe(10);
    expect(first.running).toBe(expected.filter((id) => runningIds.includes(id)).length);
    // Narrowed by the other filters too.
    const org = seeded.organizationIds[2] ?? '';
    const ofOrg = await search(admin, `search=i0001&organization=${org}&limit=20`);
    const own = seeded.instances.filter((i) => i.organization_id === org && expected.includes(i.id));
    expect(ofOrg.instances.map((i) => i.id).sort()).toEqual(own.map((i) => i.id).sort());
    expect(ofOrg.total).toBe(own.length);
  });

  it('matches the organization’s slug and the project’s name', async () => {
    const org = seeded.organizationIds[1] ?? '';
    const ofSlug = await search(admin, `search=${encodeURIComponent(seeded.slugs[1]?.toUpperCase() ?? '')}`);
    const own = seeded.instances.filter((i) => i.organization_id === org).map((i) => i.id);
    expect(ofSlug.instances.map((i) => i.id).sort()).toEqual(own.sort());
    // Every seeded instance is in a project named "erp".
    expect((await search(admin, 'search=rp&limit=1')).total).toBe(seeded.instances.length);
  });

  it('takes %, _ and \\ as plain characters, not as wildcards', async () => {
    // Unescaped, each of these would match seeded names ("i\\0" as "i0", "_" as any character).
    for (const part of ['i_00', 'i%1', '%', '_', 'i\\0', '\\']) {
      const page = await search(admin, `search=${encodeURIComponent(part)}&limit=5`);
      expect([part, page.instances.length, page.total]).toEqual([part, 0, 0]);
    }
  });

  it('never shows an organization admin another organization’s instances', async () => {
    const [mine, theirs] = seeded.organizationIds;
    const orgAdmin = await memberBrowser(t, admin, seeded.slugs[0] ?? '', 'searcher@example.com', 'admin');
    const own = seeded.instances.filter((i) => i.organization_id === mine).map((i) => i.id);
    // Their organization's slug matches their instances; another's matches nothing they may see.
    const ofOther = await search(orgAdmin, `search=${seeded.slugs[1]}&limit=50`);
    expect([ofOther.instances, ofOther.total]).toEqual([[], 0]);
    const byName = await search(orgAdmin, 'search=i000&limit=50');
    expect(byName.instances.every((i) => i.organizationId === mine)).toBe(true);
    expect(byName.total).toBe(named('i000').filter((id) => own.includes(id)).length);
    const everywhere = await allPages(orgAdmin, 'search=erp&', 2);
    expect(everywhere.ids.sort()).toEqual([...own].sort());
    const refused = await as(t, orgAdmin)('GET', `/api/v1/instances?organization=${theirs}&search=i`);
    expect(refused.statusCode).toBe(404);
  });

  it('refuses an empty search and one over 100 characters', async () => {
    expect((await as(t, admin)('GET', '/api/v1/instances?search=')).statusCode).toBe(400);
    expect((await as(t, admin)('GET', `/api/v1/instances?search=${'a'.repeat(101)}`)).statusCode).toBe(400);
    expect((await as(t, admin)('GET', `/api/v1/instances?search=${'a'.repeat(100)}`)).statusCode).toBe(200);
  });
});

describe('marina instances ls', () => {
  let client: MarinaClient;
  /** The instance list requests Marina answered, in order. */
  const asked: URL[] = [];

  beforeAll(async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    // Beside Fastify's own listener: it sees every request the CLI sends.
    t.app.server.on('request', (request: { url?: string }) => {
      const url = new URL(request.url ?? '/', 'http://marina');
      if (url.pathname === '/api/v1/instances') asked.push(url);
    });
    const { secret } = (await as(t, admin)('POST', '/api/v1/tokens', { name: 'cli' })).json<{ secret: string }>();
    client = new MarinaClient({
      url: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`,
      token: secret,
    });
  });

  /** Runs `marina instances …`: what it printed on standard output, and on standard error. */
  async function ls(...args: string[]): Promise<{ out: string; err: string }> {
    const program = new Command('marina').exitOverride();
    registerInstanceCommands(program, async () => client);
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void out.push(parts.join(' ')));
    const warn = vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void err.push(parts.join(' ')));
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    try {
      await program.parseAsync(['node', 'marina', 'instances', 'ls', ...args]);
    } finally {
      log.mockRestore();
      warn.mockRestore();
      write.mockRestore();
    }
    return { out: out.join('\n'), err: err.join('\n') };
  }

  it('follows the pages, never asking for the whole list', async () => {
    const whole = (await as(t, admin)('GET', '/api/v1/instances')).json<Page>().instances;
    const seen: string[] = [];
    let pages = 0;
    for await (const page of instancePages(client, { pageSize: 5 })) {
      expect(page.total).toBe(pages === 0 ? 23 : null);
      seen.push(...page.rows.map((i) => i.id));
      pages++;
    }
    expect(pages).toBe(5);
    expect(seen).toEqual(whole.map((i) => i.id));
    const limited: string[] = [];
    for await (const page of instancePages(client, { pageSize: 5, limit: 7 }))
      limited.push(...page.rows.map((i) => i.id));
    expect(limited).toEqual(seen.slice(0, 7));
  });

  it('goes on after the row before a cursor that was deleted meanwhile', async () => {
    const pages = instancePages(client, { pageSize: 3 });
    const first = await pages.next();
    const rows = first.done ? [] : first.value.rows.map((r) => r.id);
    // The row the next page would start after goes away between the two pages.
    const doomed = rows.pop() ?? '';
    await t.db.deleteFrom('instances').where('id', '=', doomed).execute();
    const second = await pages.next();
    await pages.return(undefined);
    rows.push(...(second.done ? [] : second.value.rows.map((r) => r.id)));
    const now = (await as(t, admin)('GET', '/api/v1/instances')).json<Page>().instances.map((i) => i.id);
    expect(now).not.toContain(doomed);
    expect(rows).toEqual(now.slice(0, 5));
  });

  it('prints every instance, a page at a time, or the newest few; --json is one array', async () => {
    const whole = (await as(t, admin)('GET', '/api/v1/instances')).json<Page>().instances;
    asked.length = 0;
    const json = JSON.parse((await ls('--json')).out) as Page['instances'];
    expect(json.map((i) => i.id)).toEqual(whole.map((i) => i.id));
    expect(asked.map((url) => url.searchParams.get('limit'))).toEqual(['200']);

    const table = (await ls()).out.split('\n');
    expect(table[0]).toMatch(/^NAME\s+STAGE\s+VERSION\s+STATUS\s+UPTIME\s+SIZE\s+URL\s+ID$/);
    expect(table.slice(1).map((line) => line.split(/\s+/)[0])).toEqual(whole.map((i) => i.name));

    asked.length = 0;
    const newest = await ls('--limit', '3');
    expect(
      newest.out
        .split('\n')
        .slice(1)
        .map((line) => line.split(/\s+/)[0]),
    ).toEqual(whole.slice(0, 3).map((i) => i.name));
    expect(newest.err).toBe(`The newest 3 of ${whole.length} instances; a larger --limit shows more.`);
    expect(asked.map((url) => url.searchParams.get('limit'))).toEqual(['3']);
    await expect(ls('--limit', '0')).rejects.toThrow(/--limit: "0" is not a whole number/);
  });
});
