import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type TestApp } from '../helpers/app.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../helpers/docker.js';
import { odooSource } from '../helpers/odoo.js';
import { openSse } from '../helpers/sse.js';

/** Logs of REAL Odoo 17 (ODOO_SOURCE): live werkzeug lines, a traceback as one entry, downloads. */
const source = odooSource();

interface Entry {
  id: string;
  level: string | null;
  logger: string | null;
  message: string;
  continuation: string[];
  http: { path: string; status: number; queryCount: number | null; totalTimeMs: number | null } | null;
  plain: boolean;
}

describe.skipIf(!source)('real Odoo 17 logs', () => {
  const namespace = testNamespace();
  let t: TestApp;
  let admin: Browser;
  let baseUrl: string;
  let headers: Record<string, string>;
  let instance: { id: string; url: string; dbName: string };
  let password: string;

  beforeAll(async () => {
    await requireDocker();
    ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.runtime,
      MARINA_ODOO_17_SOURCE: source ?? '',
    }));
    ({ instance, password } = await provisionInstance(
      { t, admin, baseUrl, headers },
      { memoryMb: 1024, timeoutMs: 240_000 },
    ));
  }, 300_000);

  afterAll(async () => {
    await t?.close();
    await removeNamespace(namespace);
  });

  it('shows a request in the live stream within a second, with werkzeug fields', async () => {
    const sse = openSse(`${baseUrl}/api/v1/instances/${instance.id}/logs/stream?tail=50`, headers);
    await sse.waitFor((e) => e.event === 'entry');
    const path = `/web/login?probe=${Date.now()}`;
    const sent = Date.now();
    expect((await fetch(`${instance.url}${path}`)).status).toBe(200);
    const arrived = await sse.waitFor((e) => e.event === 'entry' && (e.data as Entry).http?.path === path);
    expect(arrived.at - sent).toBeLessThan(1000);
    expect((arrived.data as Entry).http).toMatchObject({
      status: 200,
      queryCount: expect.any(Number),
      totalTimeMs: expect.any(Number),
    });
    sse.close();
  });

  it("shows a failing request's traceback as one ERROR entry", async () => {
    const sse = openSse(`${baseUrl}/api/v1/instances/${instance.id}/logs/stream?tail=50`, headers);
    await sse.waitFor((e) => e.event === 'entry');
    const login = await fetch(`${instance.url}/web/session/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        method: 'call',
        params: { db: instance.dbName, login: 'o@acme.test', password },
      }),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    // An unknown field in a domain: a plain ValueError, which Odoo logs as "Exception during request handling."
    await fetch(`${instance.url}/web/dataset/call_kw/res.partner/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({
        jsonrpc: '2.0',
        method: 'call',
        params: { model: 'res.partner', method: 'search', args: [[['marina_no_such_field', '=', 1]]], kwargs: {} },
      }),
    });
    const error = await sse.waitFor((e) => e.event === 'entry' && (e.data as Entry).level === 'ERROR');
    const entry = error.data as Entry;
    expect(entry.logger).toBe('odoo.http');
    expect(entry.message).toContain('Exception during request handling');
    const traceback = entry.continuation.join('\n');
    expect(traceback).toContain('Traceback (most recent call last):');
    expect(traceback).toContain('marina_no_such_field');
    // The whole traceback is in this one entry: no entry that follows starts inside it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = sse.events.filter((e) => e.event === 'entry' && e.at >= error.at).map((e) => e.data as Entry);
    const pieces = after.filter(
      (e) =>
        e.plain &&
        (/^\s+File "/.test(e.message) || e.message.includes('marina_no_such_field') || /^\w+Error: /.test(e.message)),
    );
    expect(pieces).toEqual([]);
    expect(traceback).toMatch(/ValueError: .*marina_no_such_field/);
    sse.close();
  });

  it('downloads the last hour as what the viewer shows', async () => {
    const since = new Date(Date.now() - 3600_000).toISOString();
    const shown = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}/logs?tail=10000&since=${since}`)).json()
      .entries as Entry[];
    const jsonl = await as(t, admin)(
      'GET',
      `/api/v1/instances/${instance.id}/logs/download?since=${since}&format=jsonl`,
    );
    const downloaded = jsonl.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    // The newest entry shown may still have been gathering its continuation lines (Odoo writes them
    // a moment later): it matches as far as it went; every entry before it is settled and identical.
    const newest = shown.at(-1);
    expect(downloaded.slice(0, shown.length - 1)).toEqual(shown.slice(0, -1));
    if (newest) {
      const later = downloaded[shown.length - 1];
      expect({ ...later, continuation: later?.continuation.slice(0, newest.continuation.length) }).toEqual(newest);
    }
    const text = await as(t, admin)('GET', `/api/v1/instances/${instance.id}/logs/download?since=${since}`);
    expect(text.body).toContain('odoo.modules.loading');
    expect(text.body).toContain('Traceback (most recent call last):');
  });
});
