import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  STRONG_PASSWORD,
  signIn,
  type TestApp,
} from '../../../test/helpers/app.js';
import { makeOrganization } from '../../../test/helpers/factories.js';
import { type S3TestServer, startS3Server } from '../../../test/helpers/s3-server.js';
import { type SftpTestServer, sftpServerUnavailable, startSftpServer } from '../../../test/helpers/sftp-server.js';
import { OutboundRefusedError, outboundGuard } from '../../adapters/net/outbound.js';
import { openStore, probeStore } from '../../adapters/storage/index.js';
import { StorageError, type StoreTarget } from '../../adapters/storage/types.js';

/**
 * S3 endpoints and SFTP hosts that name internal addresses are refused before anything connects:
 * a listener on loopback counts connections and must see none. A platform admin's allowed range
 * lets the test servers (on 127.0.0.1) through.
 */
const strict = outboundGuard(async () => ({ allowedRanges: [], protectedPorts: [] }));
const sftpSkipped = sftpServerUnavailable();

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

/** Names that are the machine itself: literal, and names /etc/hosts maps to loopback. */
const internal = () => ['127.0.0.1', 'localhost', '169.254.169.254', '[::ffff:127.0.0.1]'];

const s3Target = (host: string): StoreTarget => ({
  kind: 's3',
  settings: {
    endpoint: `http://${host}:${port}`,
    region: 'us-east-1',
    bucket: 'bucket',
    prefix: '',
    forcePathStyle: true,
    accessKeyId: 'AKIA',
  },
  secrets: { secretAccessKey: 'secret' },
});

const sftpTarget = (host: string): StoreTarget => ({
  kind: 'sftp',
  settings: { host: host.replace(/^\[|\]$/g, ''), port, username: 'u', folder: '', hostKeyFingerprint: null },
  secrets: { password: 'p' },
});

describe('the storage layer', () => {
  it.each(internal())('refuses an S3 endpoint and an SFTP host at %s, and nothing connects', async (host) => {
    for (const target of [s3Target(host), sftpTarget(host)]) {
      const error = await openStore(target, strict).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).reason).toBe('refused');
      // The connection test answers one refusal, without steps or timings.
      await expect(probeStore(target, strict)).rejects.toBeInstanceOf(OutboundRefusedError);
    }
    expect(connections).toBe(0);
  });

  it('checks the name again where the SDK connects: a name that rebinds to loopback is refused', async () => {
    // First answer public (the check before connecting), then loopback (the lookup at connect time).
    let answers = 0;
    const rebinding = outboundGuard(
      async () => ({ allowedRanges: [], protectedPorts: [] }),
      async () => [answers++ === 0 ? { address: '93.184.215.14', family: 4 } : { address: '127.0.0.1', family: 4 }],
    );
    const error = await openStore(s3Target('rebind.example'), rebinding).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ reason: 'refused' });
    expect(answers).toBeGreaterThan(1);
    expect(connections).toBe(0);
  });
});

describe('destinations through the API', { timeout: 120_000 }, () => {
  let t: TestApp;
  let admin: Browser;
  let s3: S3TestServer;
  let sftp: SftpTestServer | undefined;
  let orgId: string;
  const destinationCount = async () => (await t.db.selectFrom('destinations').select('id').execute()).length;
  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
    as(t, admin)(method, url, body);

  beforeAll(async () => {
    t = await createTestApp();
    admin = await adminBrowser(t);
    s3 = await startS3Server();
    if (!sftpSkipped) sftp = await startSftpServer();
    orgId = (await makeOrganization(call, { slug: 'acme', name: 'Acme' })).id;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await s3?.stop();
    await sftp?.stop();
  });

  const s3Body = (endpoint: string, name = 'bucket') => ({
    organizationId: orgId,
    name,
    kind: 's3',
    s3: {
      endpoint,
      bucket: s3.bucket,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
  });

  it('refuse internal endpoints and hosts with one error, create nothing, and s3rver sees nothing', async () => {
    const seen = s3.requests.length;
    const s3Port = new URL(s3.endpoint).port;
    for (const host of ['127.0.0.1', 'localhost', '169.254.169.254']) {
      const made = await call('POST', '/api/v1/destinations', s3Body(`http://${host}:${s3Port}`, `s3 ${host}`));
      expect(made.statusCode, made.body).toBe(400);
      expect(made.json().error.code).toBe('MARINA_E_OUTBOUND_REFUSED');
      const sftpMade = await call('POST', '/api/v1/destinations', {
        organizationId: orgId,
        name: `sftp ${host}`,
        kind: 'sftp',
        sftp: { host, port, username: 'u', password: 'p' },
      });
      expect(sftpMade.statusCode, sftpMade.body).toBe(400);
      expect(sftpMade.json().error.code).toBe('MARINA_E_OUTBOUND_REFUSED');
      expect(sftpMade.body).not.toContain('"steps"');
    }
    expect(await destinationCount()).toBe(0);
    expect(s3.requests.length).toBe(seen);
    expect(connections).toBe(0);
  });

  it('let platform admins alone allow a range; a test of a destination refused later answers no timings', async () => {
    // An organization admin, made directly: the way members are invited is not what this tests.
    await t.services.users.createPlatformAdmin(
      { actor: { kind: 'system', label: 'test' }, ip: null },
      { email: 'admin@acme.test', password: STRONG_PASSWORD },
    );
    const user = await t.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'admin@acme.test')
      .executeTakeFirstOrThrow();
    await t.db.updateTable('users').set({ is_platform_admin: false }).where('id', '=', user.id).execute();
    await t.db.insertInto('memberships').values({ user_id: user.id, organization_id: orgId, role: 'admin' }).execute();
    const orgAdmin = await signIn(t.app, 'admin@acme.test');
    const denied = await as(t, orgAdmin)('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] });
    expect(denied.statusCode).toBe(403);
    expect((await as(t, orgAdmin)('GET', '/api/v1/settings/outbound')).statusCode).toBe(403);
    const bad = await call('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/33'] });
    expect(bad.statusCode).toBe(400);

    const allowed = await call('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.1/8'] });
    expect(allowed.statusCode, allowed.body).toBe(200);
    expect(allowed.json().outbound).toEqual({ allowedRanges: ['127.0.0.0/8'] });
    const made = await call('POST', '/api/v1/destinations', s3Body(s3.endpoint));
    expect(made.statusCode, made.body).toBe(201);
    const id = made.json().destination.id;
    expect((await call('POST', `/api/v1/destinations/${id}/test`)).json()).toMatchObject({ ok: true });

    await call('PUT', '/api/v1/settings/outbound', { allowedRanges: [] });
    const seen = s3.requests.length;
    const tested = await call('POST', `/api/v1/destinations/${id}/test`);
    expect(tested.statusCode).toBe(400);
    expect(tested.json().error.code).toBe('MARINA_E_OUTBOUND_REFUSED');
    expect(tested.body).not.toMatch(/"ms"|"steps"/);
    expect(s3.requests.length).toBe(seen);
    const audit = await t.db
      .selectFrom('audit_events')
      .select('action')
      .where('action', '=', 'settings.update')
      .where('target_label', '=', 'Outbound connections')
      .execute();
    expect(audit).toHaveLength(2);
  });

  it.skipIf(sftpSkipped)(
    'test an SFTP server when adding it and pin its host key; a failing one is not added',
    async () => {
      const server = sftp as SftpTestServer;
      await call('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] });
      const made = await call('POST', '/api/v1/destinations', {
        organizationId: orgId,
        name: 'box',
        kind: 'sftp',
        sftp: { host: server.host, port: server.port, username: server.username, privateKey: server.privateKey },
      });
      expect(made.statusCode, made.body).toBe(201);
      expect(made.json().destination.sftp.hostKeyFingerprint).toBe(server.fingerprint);

      const before = await destinationCount();
      const wrong = await call('POST', '/api/v1/destinations', {
        organizationId: orgId,
        name: 'wrong box',
        kind: 'sftp',
        sftp: { host: server.host, port: server.port, username: server.username, password: 'not the password' },
      });
      expect(wrong.statusCode, wrong.body).toBe(502);
      expect(wrong.json().error).toMatchObject({ code: 'MARINA_E_STORAGE', details: { reason: 'auth' } });
      expect(await destinationCount()).toBe(before);

      // An upload goes only to the pinned key: a destination left unpinned is refused before login.
      const row = await t.services.destinations.row(made.json().destination.id);
      const unpinned = { ...(row.settings as object), hostKeyFingerprint: null };
      await t.db
        .updateTable('destinations')
        .set({ settings: JSON.stringify(unpinned) })
        .where('id', '=', row.id)
        .execute();
      const target = t.services.destinations.targetOf(await t.services.destinations.row(row.id));
      await expect(openStore(target, t.services.destinations.guard)).rejects.toMatchObject({
        reason: 'host-key-unpinned',
      });
    },
  );
});
