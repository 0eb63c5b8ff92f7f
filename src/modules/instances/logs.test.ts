import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, memberBrowser, type TestApp } from '../../../test/helpers/app.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { openSse } from '../../../test/helpers/sse.js';
import { openLogStreams } from '../../runtime/docker/logs.js';

/** Instance logs through the real Docker engine, from Marina's Odoo stand-in (Odoo's log format). */
const namespace = testNamespace();
let t: TestApp;
let admin: Browser;
let baseUrl: string;
let headers: Record<string, string>;
let instance: { id: string; url: string; name: string };

interface Entry {
  id: string;
  level: string | null;
  logger: string | null;
  message: string;
  continuation: string[];
  http: { method: string; path: string; status: number; totalTimeMs: number | null } | null;
}

beforeAll(async () => {
  await requireDocker();
  ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin }));
  ({ instance } = await provisionInstance({ t, admin, baseUrl, headers }));
}, 120_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
});

describe('instance logs', () => {
  it('shows the tail as parsed Odoo entries', async () => {
    await fetch(`${instance.url}/web/login`);
    const res = await as(t, admin)('GET', `/api/v1/instances/${instance.id}/logs?tail=100`);
    expect(res.statusCode).toBe(200);
    const entries = res.json().entries as Entry[];
    expect(entries.length).toBeGreaterThan(2);
    expect(entries.some((e) => e.level === 'INFO' && e.logger?.startsWith('odoo'))).toBe(true);
    const access = entries.find((e) => e.http?.path === '/web/login');
    expect(access?.http).toMatchObject({ method: 'GET', status: 200 });
    const ids = entries.map((e) => e.id);
    expect([...ids].sort()).toEqual(ids);
  });

  it('streams new entries live: a request shows at once; a traceback arrives as one ERROR entry', async () => {
    const sse = openSse(`${baseUrl}/api/v1/instances/${instance.id}/logs/stream?tail=50`, headers);
    await sse.waitFor((e) => e.event === 'entry');
    const path = `/web/login?marker=${Date.now()}`;
    const sent = Date.now();
    await fetch(`${instance.url}${path}`);
    const line = await sse.waitFor((e) => e.event === 'entry' && (e.data as Entry).http?.path === path);
    // Live, not on a refresh; the bound leaves room for a loaded machine (latency: `npm run bench`).
    expect(line.at - sent).toBeLessThan(3000);

    await fetch(`${instance.url}/web/standin/crash`);
    const error = await sse.waitFor((e) => e.event === 'entry' && (e.data as Entry).level === 'ERROR');
    const entry = error.data as Entry;
    expect(entry.continuation.join('\n')).toContain('Traceback (most recent call last):');
    expect(entry.continuation.length).toBeGreaterThan(2);
    const ids = sse.events.filter((e) => e.event === 'entry').map((e) => e.id as string);
    expect(new Set(ids).size).toBe(ids.length);
    sse.close();
  });

  it('filters on the server by level and text', async () => {
    const errors = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}/logs?tail=1000&level=ERROR`)).json()
      .entries as Entry[];
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.level === 'ERROR' || e.level === 'CRITICAL')).toBe(true);
    const found = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}/logs?tail=1000&q=MARKER`)).json()
      .entries as Entry[];
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((e) => JSON.stringify(e).toLowerCase().includes('marker'))).toBe(true);

    const sse = openSse(`${baseUrl}/api/v1/instances/${instance.id}/logs/stream?tail=1000&level=ERROR`, headers);
    await sse.waitFor((e) => e.event === 'entry');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sse.events.filter((e) => e.event === 'entry').every((e) => (e.data as Entry).level === 'ERROR')).toBe(true);
    sse.close();
  });

  it('resumes after Last-Event-ID without repeating entries', async () => {
    const first = openSse(`${baseUrl}/api/v1/instances/${instance.id}/logs/stream?tail=50`, headers);
    await first.waitFor((e) => e.event === 'entry');
    await new Promise((resolve) => setTimeout(resolve, 300));
    first.close();
    const last = first.events.filter((e) => e.event === 'entry').at(-1)?.id as string;
    const path = `/web/login?after=${Date.now()}`;
    await fetch(`${instance.url}${path}`);
    const second = openSse(`${baseUrl}/api/v1/instances/${instance.id}/logs/stream`, {
      ...headers,
      'last-event-id': last,
    });
    await second.waitFor((e) => e.event === 'entry' && (e.data as Entry).http?.path === path);
    const resumed = second.events.filter((e) => e.event === 'entry').map((e) => e.id as string);
    expect(resumed.every((id) => id > last)).toBe(true);
    second.close();
  });

  it('leaves no Docker log stream open when the client goes away', async () => {
    // The earlier tests' streams close asynchronously: start from none open.
    const quiet = Date.now() + 2000;
    while (openLogStreams.count > 0 && Date.now() < quiet) await new Promise((resolve) => setTimeout(resolve, 20));
    const before = openLogStreams.count;
    expect(before).toBe(0);
    const clients = [1, 2, 3].map(() =>
      openSse(`${baseUrl}/api/v1/instances/${instance.id}/logs/stream?tail=50`, headers),
    );
    await Promise.all(clients.map((c) => c.waitFor((e) => e.event === 'entry')));
    expect(openLogStreams.count).toBe(before + 3);
    for (const c of clients) c.close();
    const deadline = Date.now() + 2000;
    while (openLogStreams.count > before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(openLogStreams.count).toBe(before);
  });

  it('keeps streaming across a restart of the instance', { timeout: 60_000 }, async () => {
    const sse = openSse(`${baseUrl}/api/v1/instances/${instance.id}/logs/stream?tail=50`, headers);
    await sse.waitFor((e) => e.event === 'entry');
    const restart = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/restart`, {});
    expect((await followJob(baseUrl, headers, restart.json().job.id)).job.status).toBe('succeeded');
    const path = `/web/login?restarted=${Date.now()}`;
    await fetch(`${instance.url}${path}`);
    await sse.waitFor((e) => e.event === 'entry' && (e.data as Entry).http?.path === path, 15_000);
    expect(sse.events.some((e) => e.event === 'state')).toBe(true);
    const ids = sse.events.filter((e) => e.event === 'entry').map((e) => e.id as string);
    expect(new Set(ids).size).toBe(ids.length);
    sse.close();
  });

  it('downloads the log as text or JSON lines, matching what the viewer shows', async () => {
    const since = new Date(Date.now() - 3600_000).toISOString();
    const shown = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}/logs?tail=10000&since=${since}`)).json()
      .entries as Entry[];
    const text = await as(t, admin)('GET', `/api/v1/instances/${instance.id}/logs/download?since=${since}`);
    expect(text.statusCode).toBe(200);
    expect(text.headers['content-disposition']).toMatch(/^attachment; filename="main-\d{8}T\d{6}\.log"$/);
    const jsonl = await as(t, admin)(
      'GET',
      `/api/v1/instances/${instance.id}/logs/download?since=${since}&format=jsonl`,
    );
    const downloaded = jsonl.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    // The viewer's answer was taken first; the download may hold a few newer entries.
    expect(downloaded.slice(0, shown.length).map((e) => e.id)).toEqual(shown.map((e) => e.id));
    expect(
      text.body.split('\n').filter((l) => l.includes('Traceback (most recent call last):')).length,
    ).toBeGreaterThan(0);
  });

  it('refuses bad parameters clearly', async () => {
    for (const query of [
      'tail=10',
      'tail=20000',
      'tail=abc',
      'level=VERBOSE',
      'since=yesterday',
      `q=${'x'.repeat(201)}`,
      'q=%00',
      'sort=asc',
      `since=${new Date().toISOString()}&until=2020-01-01T00:00:00Z`,
    ]) {
      const res = await as(t, admin)('GET', `/api/v1/instances/${instance.id}/logs?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code).toBe('MARINA_E_VALIDATION');
    }
    expect((await as(t, admin)('GET', `/api/v1/instances/${instance.id}/logs/download?format=pdf`)).statusCode).toBe(
      400,
    );
  });

  it('hides the logs from other organizations', async () => {
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'globex', name: 'Globex' });
    const outsider = await memberBrowser(t, admin, 'globex', 'spy@globex.test', 'owner');
    for (const url of ['logs', 'logs/stream', 'logs/download']) {
      const res = await as(t, outsider)('GET', `/api/v1/instances/${instance.id}/${url}`);
      expect(res.statusCode, url).toBe(404);
    }
  });
});
