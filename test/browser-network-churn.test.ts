import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/browser.js';
import { requireDocker, testNamespace } from './helpers/docker.js';

const docker = promisify(execFile);

/**
 * The UI tests' Chromium must not abort requests when other test files create and remove Docker
 * networks (net::ERR_NETWORK_CHANGED: without test/helpers/no-netlink.c about a quarter of the
 * requests below failed here).
 */
let browser: Browser;
let server: Server;

beforeAll(async () => {
  await requireDocker();
  server = createServer((_request, response) => {
    setTimeout(() => response.end('ok'), 200);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

describe('the test browser', () => {
  it('keeps its requests while Docker networks come and go', async () => {
    const { port } = server.address() as AddressInfo;
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    let churning = true;
    let changes = 0;
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        const name = `${testNamespace()}-churn-${i}`;
        await docker('docker', ['network', 'create', name]);
        await docker('docker', ['network', 'rm', name]);
        changes++;
      }
    })();
    const outcome = await page.evaluate(async () => {
      let ok = 0;
      let failed = 0;
      const until = Date.now() + 8_000;
      while (Date.now() < until) {
        await Promise.all(
          Array.from({ length: 8 }, () =>
            fetch(`/?${Math.random()}`).then(
              () => ok++,
              () => failed++,
            ),
          ),
        );
      }
      return { ok, failed };
    });
    churning = false;
    await churn;
    expect(changes).toBeGreaterThan(2);
    expect(outcome.ok).toBeGreaterThan(50);
    expect(outcome.failed).toBe(0);
  }, 60_000);
});
