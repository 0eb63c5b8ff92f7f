import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createTcpServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSecureContext,
  createServer as createTlsServer,
  getCACertificates,
  setDefaultCACertificates,
} from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCa, type TestCa, type TestCertificate } from '../../../test/helpers/test-ca.js';
import { probeCertificate } from './certificate-probe.js';

/**
 * A real TLS server on loopback choosing its certificate by SNI, as the edge does: one name has
 * a certificate from our test CA, another a certificate for a different name, a third makes the
 * handshake fail (as Caddy does for a name its `ask` endpoint refuses).
 */
let dir: string;
let ca: TestCa;
let otherCa: TestCa;
let shop: TestCertificate;
let elsewhere: TestCertificate;
let server: Server;
let port: number;

function listen(target: Server): Promise<number> {
  return new Promise((resolve) =>
    target.listen(0, '127.0.0.1', () => {
      const address = target.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'marina-probe-'));
  ca = await makeTestCa(dir, 'ca', { commonName: 'Probe Test R1', organization: 'Marina Tests' });
  otherCa = await makeTestCa(dir, 'other-ca', { commonName: 'Somebody Else CA' });
  shop = await ca.issue('shop', { names: ['shop.example.test', 'www.shop.example.test'], days: 3 });
  elsewhere = await ca.issue('elsewhere', { names: ['elsewhere.example.test'] });
  const contexts = new Map([
    ['shop.example.test', createSecureContext({ cert: shop.certificatePem, key: shop.keyPem })],
    ['wrong.example.test', createSecureContext({ cert: elsewhere.certificatePem, key: elsewhere.keyPem })],
  ]);
  server = createTlsServer({
    SNICallback: (name, done) => {
      const context = contexts.get(name);
      if (context) done(null, context);
      else done(new Error(`no certificate for ${name}`));
    },
  });
  server.on('tlsClientError', () => undefined);
  port = await listen(server);
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('probeCertificate', () => {
  it('reports the issuer, subject and expiry of the certificate served for the name, trusted by the given roots', async () => {
    const checkedAt = new Date(Date.now() + 5_000);
    const state = await probeCertificate({ host: '127.0.0.1', port }, 'shop.example.test', {
      ca: ca.certificatePem,
      now: () => checkedAt,
    });
    const served = new X509Certificate(shop.certificatePem);
    expect(state).toEqual({
      issuer: 'Marina Tests Probe Test R1',
      subject: 'shop.example.test',
      notAfter: new Date(served.validTo).toISOString(),
      checkedAt: checkedAt.toISOString(),
      trusted: true,
    });
  });

  it('describes a certificate the roots do not trust, and says so', async () => {
    const state = await probeCertificate({ host: '127.0.0.1', port }, 'shop.example.test', {
      ca: otherCa.certificatePem,
    });
    expect(state.issuer).toBe('Marina Tests Probe Test R1');
    expect(state.trusted).toBe(false);
    expect(state.error).toMatch(/not trusted/);
  });

  it('is not trusted by default roots (a test CA is no public CA)', async () => {
    const state = await probeCertificate({ host: '127.0.0.1', port }, 'shop.example.test');
    expect(state.trusted).toBe(false);
    expect(state.subject).toBe('shop.example.test');
  });

  it('trusts what the process trusts by default (NODE_EXTRA_CA_CERTS, tls.setDefaultCACertificates)', async () => {
    const defaults = getCACertificates('default');
    setDefaultCACertificates([...defaults, ca.certificatePem]);
    try {
      const state = await probeCertificate({ host: '127.0.0.1', port }, 'shop.example.test');
      expect(state.trusted).toBe(true);
      expect(state.error).toBeUndefined();
    } finally {
      setDefaultCACertificates(defaults);
    }
  });

  it('says when the certificate served does not cover the name', async () => {
    const state = await probeCertificate({ host: '127.0.0.1', port }, 'wrong.example.test', {
      ca: ca.certificatePem,
    });
    expect(state.subject).toBe('elsewhere.example.test');
    expect(state.trusted).toBe(false);
    expect(state.error).toBe('the certificate does not cover wrong.example.test');
  });

  it('reports a refused handshake as an error, without certificate fields', async () => {
    const state = await probeCertificate({ host: '127.0.0.1', port }, 'unknown.example.test', {
      ca: ca.certificatePem,
    });
    expect(state.error).toMatch(/TLS handshake failed|closed the connection/);
    expect(state.issuer).toBeUndefined();
    expect(state.notAfter).toBeUndefined();
    expect(state.trusted).toBeUndefined();
  });

  it('reports an edge that is not listening', async () => {
    const closed = createTcpServer();
    const closedPort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const state = await probeCertificate({ host: '127.0.0.1', port: closedPort }, 'shop.example.test');
    expect(state.error).toBe('the edge refused the connection');
  });

  it('gives up after the timeout when the edge never completes the handshake', async () => {
    const silent = createTcpServer(() => undefined);
    const silentPort = await listen(silent);
    try {
      const started = Date.now();
      const state = await probeCertificate({ host: '127.0.0.1', port: silentPort }, 'shop.example.test', {
        timeoutMs: 300,
      });
      expect(state.error).toBe('no TLS answer from the edge within 300 ms');
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      silent.close();
    }
  });
});
