import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  type TestApp,
} from '../../../test/helpers/app.js';
import { openSse } from '../../../test/helpers/sse.js';
import { createLogger } from '../../logger.js';
import { systemLogFile } from './system-logs.js';

/** Marina's own log, written by its real logger to data/logs/marina.log, read back through the API. */
let dir: string;
let t: TestApp;
let admin: Browser;
let logger: Logger;
let baseUrl: string;

const flush = () => new Promise<void>((resolve) => logger.flush(() => resolve()));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'marina-syslog-'));
  await chmod(dir, 0o711);
  t = await createTestApp({ MARINA_DATA_DIR: dir });
  logger = createLogger({ logLevel: 'debug', logFormat: 'json' }, systemLogFile(dir));
  logger.info({ instance: 'acme/erp/main' }, 'provisioning started');
  logger.warn('the Docker event stream dropped; reconnecting');
  logger.error({ err: new Error('the disk is full') }, 'a backup failed');
  await flush();
  admin = await adminBrowser(t);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const address = t.app.server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

describe("Marina's own log", () => {
  it('shows the tail as entries with levels, context and error stacks', async () => {
    const entries = (await as(t, admin)('GET', '/api/v1/system/logs?tail=50')).json().entries;
    expect(entries.map((e: { level: string; message: string }) => `${e.level} ${e.message}`)).toEqual([
      'INFO provisioning started',
      'WARNING the Docker event stream dropped; reconnecting',
      'ERROR a backup failed — the disk is full',
    ]);
    expect(entries[0].continuation).toEqual(['instance=acme/erp/main']);
    expect(entries[2].continuation.join('\n')).toContain('at ');
    const errors = (await as(t, admin)('GET', '/api/v1/system/logs?level=ERROR')).json().entries;
    expect(errors).toHaveLength(1);
  });

  it('streams new lines live and resumes after Last-Event-ID', async () => {
    const sse = openSse(`${baseUrl}/api/v1/system/logs/stream?tail=50`, { cookie: admin.cookie });
    await sse.waitFor((e) => e.event === 'entry');
    const sent = Date.now();
    logger.info('a line written just now');
    await flush();
    const line = await sse.waitFor(
      (e) => e.event === 'entry' && (e.data as { message: string }).message === 'a line written just now',
    );
    // Live, not on a refresh; the bound leaves room for a loaded machine.
    expect(line.at - sent).toBeLessThan(3000);
    sse.close();
    logger.info('written while nobody listened');
    await flush();
    const resumed = openSse(`${baseUrl}/api/v1/system/logs/stream`, {
      cookie: admin.cookie,
      'last-event-id': line.id as string,
    });
    const next = await resumed.waitFor((e) => e.event === 'entry');
    expect((next.data as { message: string }).message).toBe('written while nobody listened');
    resumed.close();
  });

  it('downloads as text or JSON lines', async () => {
    const text = await as(t, admin)('GET', '/api/v1/system/logs/download');
    expect(text.headers['content-disposition']).toMatch(/^attachment; filename="marina-\d{8}T\d{6}\.log"$/);
    expect(text.body).toMatch(/ERROR marina: a backup failed — the disk is full\n\s+at /);
    const jsonl = await as(t, admin)('GET', '/api/v1/system/logs/download?format=jsonl');
    expect(
      jsonl.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).message),
    ).toContain('provisioning started');
  });

  it('is for platform admins only, and refuses bad parameters', async () => {
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    for (const url of ['/api/v1/system/logs', '/api/v1/system/logs/stream', '/api/v1/system/logs/download']) {
      expect((await as(t, owner)('GET', url)).statusCode, url).toBe(403);
    }
    for (const query of ['tail=1', 'level=LOUD', 'until=never']) {
      expect((await as(t, admin)('GET', `/api/v1/system/logs?${query}`)).statusCode, query).toBe(400);
    }
  });
});
