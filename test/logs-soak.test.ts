import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLogStreams } from '../src/runtime/docker/logs.js';
import type { Browser, TestApp } from './helpers/app.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from './helpers/docker.js';
import { openSse } from './helpers/sse.js';

/**
 * One log stream held open for 15 minutes keeps delivering (Odoo.sh stops after five). `npm test`
 * holds it for one minute; `npm run bench` runs the whole 15 (MARINA_SOAK_MINUTES).
 */
const minutes = Number(process.env.MARINA_SOAK_MINUTES ?? 1);
const namespace = testNamespace();
let t: TestApp;
let admin: Browser;
let baseUrl: string;
let headers: Record<string, string>;
let instance: { id: string; url: string };

beforeAll(async () => {
  console.warn(`\n*** log stream soak: ${minutes} minute(s)${minutes < 15 ? ' (npm run bench runs 15)' : ''} ***\n`);
  await requireDocker();
  ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin }));
  ({ instance } = await provisionInstance({ t, admin, baseUrl, headers }));
}, 120_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
});

describe('a long-lived log stream', () => {
  it(`keeps delivering for ${minutes} minute(s)`, { timeout: (minutes + 2) * 60_000 }, async () => {
    const sse = openSse(`${baseUrl}/api/v1/instances/${instance.id}/logs/stream?tail=50`, headers);
    await sse.waitFor((e) => e.event === 'entry');
    const end = Date.now() + minutes * 60_000;
    let probes = 0;
    while (Date.now() < end) {
      const path = `/web/login?soak=${probes}-${Date.now()}`;
      await fetch(`${instance.url}${path}`);
      const arrived = await sse.waitFor(
        (e) => e.event === 'entry' && (e.data as { http?: { path: string } }).http?.path === path,
        5000,
      );
      expect(arrived).toBeDefined();
      probes++;
      await new Promise((resolve) => setTimeout(resolve, Math.min(20_000, Math.max(0, end - Date.now()))));
    }
    expect(probes).toBeGreaterThanOrEqual(Math.max(1, Math.floor((minutes * 60) / 21)));
    expect(openLogStreams.count).toBe(1);
    sse.close();
  });
});
