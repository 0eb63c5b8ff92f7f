import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { makeOrganization, makeProject } from '../../../test/helpers/factories.js';
import { createTestRepository } from '../../../test/helpers/git-repo.js';
import {
  type GitSshTestServer,
  gitSshServerUnavailable,
  startGitSshServer,
} from '../../../test/helpers/git-ssh-server.js';
import { Git, generateDeployKey, hostKeyFingerprints, scanHostKeys } from '../../adapters/git/git.js';

/**
 * Git remotes and ssh-keyscan: internal addresses are refused before git or ssh-keyscan runs (a
 * loopback listener counts connections and must see none), and git reaches the address that was
 * checked for a remote's name, never what DNS answers later.
 */
const sshSkipped = gitSshServerUnavailable();

let listener: Server;
let port: number;
let connections = 0;

beforeAll(async () => {
  listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as { port: number }).port;
});
afterAll(() => {
  listener?.close();
});

describe('repositories through the API', { timeout: 120_000 }, () => {
  let t: TestApp;
  let admin: Browser;
  let projectId: string;
  const call = (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) => as(t, admin)(method, url, body);

  beforeAll(async () => {
    t = await createTestApp();
    admin = await adminBrowser(t);
    await makeOrganization(call, { slug: 'acme', name: 'Acme' });
    projectId = (await makeProject(call)).id;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    `https://127.0.0.1:${0}/acme/addons.git`,
    'https://169.254.169.254/latest/meta-data.git',
    'https://localhost:PORT/acme/addons.git',
    'https://[::ffff:127.0.0.1]:PORT/acme/addons.git',
    'ssh://git@127.0.0.1:PORT/acme/addons.git',
    'ssh://git@169.254.169.254/acme/addons.git',
    'ssh://git@localhost:PORT/acme/addons.git',
    'git@localhost:acme/addons.git',
  ])('refuse %s before git or ssh-keyscan connects', async (template) => {
    const url = template.replace('PORT', String(port)).replace(':0/', `:${port}/`);
    const made = await call('POST', `/api/v1/projects/${projectId}/repositories`, { url, branch: 'main' });
    expect(made.statusCode, made.body).toBe(400);
    expect(made.json().error.code).toBe('MARINA_E_OUTBOUND_REFUSED');
    expect(await t.db.selectFrom('repositories').select('id').execute()).toEqual([]);
    expect(connections).toBe(0);
  });

  it('let an allowed range through: ssh-keyscan then reaches the checked address', async () => {
    expect((await call('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] })).statusCode).toBe(200);
    const made = await call('POST', `/api/v1/projects/${projectId}/repositories`, {
      url: `ssh://git@localhost:${port}/acme/addons.git`,
      branch: 'main',
    });
    // The listener is no SSH server: the scan finds no key, but it did connect there.
    expect(made.statusCode, made.body).toBe(502);
    expect(connections).toBeGreaterThan(0);
    await call('PUT', '/api/v1/settings/outbound', { allowedRanges: [] });
  });
});

describe('the git adapter with a checked address', { timeout: 120_000 }, () => {
  it('sends https to the checked address for the name, without asking DNS', async () => {
    const before = connections;
    const git = new Git({ timeoutMs: 20_000 });
    // .invalid never resolves: a connection on the listener can only come from the pinned address.
    const url = `https://git.pinned.invalid:${port}/acme/addons.git`;
    await expect(
      git.remoteHead(url, 'main', {
        allowFile: false,
        pinned: { host: 'git.pinned.invalid', port, address: '127.0.0.1' },
      }),
    ).rejects.toThrow();
    expect(connections).toBeGreaterThan(before);
  });

  it.skipIf(sshSkipped)('scans and reaches an ssh server at the checked address, keys named for the host', async () => {
    let server: GitSshTestServer | undefined;
    try {
      server = await startGitSshServer();
      const repo = await createTestRepository('main', server.repos);
      await repo.write('README', 'x');
      await repo.commit('First');
      await repo.push();
      await server.chown();
      const pinned = { host: 'git.pinned.invalid', port: server.port, address: '127.0.0.1' };
      const knownHosts = await scanHostKeys(pinned);
      expect(knownHosts).toMatch(new RegExp(`^\\[git\\.pinned\\.invalid\\]:${server.port} ssh-ed25519 `));
      expect(await hostKeyFingerprints(knownHosts)).toEqual([server.fingerprint]);
      const key = await generateDeployKey('marina-test');
      await server.authorize(key.publicKey);
      const url = server.url(repo.bare).replace('127.0.0.1', 'git.pinned.invalid');
      const head = await new Git().remoteHead(url, 'main', {
        privateKey: key.privateKey,
        knownHosts,
        allowFile: false,
        pinned,
      });
      expect(head).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      await server?.stop();
    }
  });
});
