import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/helpers/process.js';

/**
 * A real DNS server on loopback for the tests: Pebble's `pebble-challtestsrv`, with records set
 * over its management API (names with a trailing dot, as it wants them). It answers nothing by
 * default (no default A/AAAA), so a name without records is really without records.
 */
export class TestDnsServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly dnsPort: number,
    private readonly managementPort: number,
  ) {}

  static async start(): Promise<TestDnsServer> {
    const dnsPort = await freePort();
    const managementPort = await freePort();
    const child = spawn(
      'pebble-challtestsrv',
      [
        '-defaultIPv4',
        '',
        '-defaultIPv6',
        '',
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-dns01',
        `127.0.0.1:${dnsPort}`,
        '-management',
        `127.0.0.1:${managementPort}`,
      ],
      { stdio: 'ignore' },
    );
    const server = new TestDnsServer(child, dnsPort, managementPort);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await server.post('clear-txt', { host: 'ready.test.' });
        return server;
      } catch (error) {
        if (Date.now() > deadline) {
          child.kill();
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** host:port for MARINA_DNS_RESOLVER. */
  get resolver(): string {
    return `127.0.0.1:${this.dnsPort}`;
  }

  private async post(path: string, body: unknown): Promise<void> {
    const response = await fetch(`http://127.0.0.1:${this.managementPort}/${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`challtestsrv ${path}: ${response.status} ${await response.text()}`);
  }

  setCname(host: string, target: string) {
    return this.post('set-cname', { host: `${host}.`, target: `${target}.` });
  }
  clearCname(host: string) {
    return this.post('clear-cname', { host: `${host}.` });
  }
  setTxt(host: string, value: string) {
    return this.post('set-txt', { host: `${host}.`, value });
  }
  clearTxt(host: string) {
    return this.post('clear-txt', { host: `${host}.` });
  }
  setA(host: string, addresses: string[]) {
    return this.post('add-a', { host: `${host}.`, addresses });
  }
  setAAAA(host: string, addresses: string[]) {
    return this.post('add-aaaa', { host: `${host}.`, addresses });
  }
  clearA(host: string) {
    return this.post('clear-a', { host: `${host}.` });
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill();
    await exited;
  }
}

export interface TestCertificates {
  /** The leaf for the name, signed by the test CA. */
  leaf: string;
  key: string;
  ca: string;
  /** A key that belongs to nothing here. */
  otherKey: string;
  /** The leaf followed by its CA (a chain in order). */
  chain: string;
}

/** A test CA and a certificate for `hostname` made by openssl (argument arrays), valid from now for `days`. */
export function makeCertificates(hostname: string, days = 30): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'marina-domain-cert-'));
  const at = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  try {
    openssl([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.pem'),
      '-days',
      String(days),
      '-subj',
      '/CN=Marina Test CA',
    ]);
    openssl(['req', ...ec, '-keyout', at('leaf.key'), '-out', at('leaf.csr'), '-subj', `/CN=${hostname}`]);
    writeFileSync(at('ext.cnf'), `subjectAltName=DNS:${hostname}\n`);
    openssl([
      'x509',
      '-req',
      '-in',
      at('leaf.csr'),
      '-CA',
      at('ca.pem'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-out',
      at('leaf.pem'),
      '-days',
      String(days),
      '-extfile',
      at('ext.cnf'),
    ]);
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at('other.key')]);
    const read = (name: string) => readFileSync(at(name), 'utf8');
    return {
      leaf: read('leaf.pem'),
      key: read('leaf.key'),
      ca: read('ca.pem'),
      otherKey: read('other.key'),
      chain: `${read('leaf.pem')}${read('ca.pem')}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
