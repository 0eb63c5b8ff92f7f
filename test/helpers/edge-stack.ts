import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, loopbackPortFree } from './process.js';
import { makeTestCa } from './test-ca.js';

export { type EdgeRequestOptions, type EdgeResponse, edgeRequest } from './edge-client.js';

/**
 * The real TLS edge for tests: Debian's Pebble (Let's Encrypt's test ACME CA) with a throwaway CA
 * for its own HTTPS listener, pebble-challtestsrv as the DNS server (records set over HTTP), and a
 * Caddy process with fresh storage whose http/https ports are Pebble's httpPort/tlsPort, so Pebble
 * validates HTTP-01 and TLS-ALPN-01 challenges against that Caddy. All on random loopback ports,
 * all in one temporary folder, all stopped by stop() even after a failed start.
 */

const CADDY = '/usr/bin/caddy';
const PEBBLE = '/usr/bin/pebble';
const CHALLTESTSRV = '/usr/bin/pebble-challtestsrv';
const START_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 5_000;
const KEEP_OUTPUT_CHARS = 200_000;

export interface EdgeStackProcessLogs {
  pebble: string;
  dns: string;
  caddy: string;
}

export interface EdgeStack {
  /** The temporary folder holding every file of the stack (removed by stop()). */
  dir: string;
  /** `http://127.0.0.1:<port>`: Caddy's admin API (no trailing slash). */
  caddyAdminUrl: string;
  /** The edge's plain-HTTP port (Caddy `http_port` = Pebble `httpPort`, for HTTP-01). */
  httpPort: number;
  /** The edge's HTTPS port (Caddy `https_port` = Pebble `tlsPort`, for TLS-ALPN-01). */
  httpsPort: number;
  /** Pebble's ACME directory, `https://127.0.0.1:<port>/dir`. */
  acmeDirectoryUrl: string;
  /** PEM file of the throwaway CA behind Pebble's own HTTPS listeners: what Caddy must trust
   *  (`trusted_roots_pem_files`, `MARINA_ACME_CA_ROOTS`). */
  acmeCaRootsPath: string;
  /** Pebble's issuing root (new at every Pebble start): what HTTPS clients of the edge trust. */
  issuingRootPem: string;
  /** The same root, written to a file. */
  issuingRootPath: string;
  /** `127.0.0.1:<port>` of pebble-challtestsrv's DNS (UDP and TCP), for `MARINA_DNS_RESOLVER`. */
  dnsResolver: string;
  dnsPort: number;
  /** The MARINA_* variables that point Marina's edge at this stack (the caller adds
   *  MARINA_BASE_DOMAIN and the rest). */
  marinaEnv(): Record<string, string>;
  /** A records (replacing earlier ones for the name). A trailing dot is added when missing. */
  setA(host: string, addresses: string[]): Promise<void>;
  clearA(host: string): Promise<void>;
  setAAAA(host: string, addresses: string[]): Promise<void>;
  clearAAAA(host: string): Promise<void>;
  /** One TXT value for the name (challtestsrv keeps one per name). */
  setTxt(host: string, value: string): Promise<void>;
  clearTxt(host: string): Promise<void>;
  setCname(host: string, target: string): Promise<void>;
  clearCname(host: string): Promise<void>;
  /** `A 127.0.0.1` for the name: where Pebble's validator finds the edge. */
  pointAtEdge(host: string): Promise<void>;
  /** The DNS questions challtestsrv received for the name (Pebble's validator, Marina's checks). */
  dnsQueriesFor(host: string): Promise<unknown[]>;
  /** How many ACME orders Pebble has accepted since it started, for any name (from its log). */
  pebbleOrderCount(): number;
  /** How many challenges Pebble has validated (or tried to) for the name (from its log). */
  pebbleValidationsFor(host: string): number;
  /** POSTs a whole configuration to Caddy's `/load`; throws with Caddy's answer when refused. */
  loadCaddyConfig(config: unknown): Promise<void>;
  /** GET on Caddy's admin API, parsed JSON. */
  caddyConfig(path?: string): Promise<unknown>;
  /** Stops Caddy and starts it again, same ports and storage: with `--resume` (its last
   *  configuration) unless `resume: false` (only the admin listener, as a fresh start). */
  restartCaddy(options?: { resume?: boolean }): Promise<void>;
  logs(): EdgeStackProcessLogs;
  stop(): Promise<void>;
}

export interface EdgeStackOptions {
  /**
   * `process` (default): a Caddy process of the helper's own, given to Marina as an operator-run
   * Caddy (MARINA_CADDY_ADMIN_URL). `managed`: no Caddy here; Marina runs its managed proxy container
   * (the test image marina-test/caddy) on the stack's ports, its admin API on `caddyAdminUrl`.
   */
  caddy?: 'process' | 'managed';
  /**
   * The DNS server Pebble's validator asks (`host:port`), instead of the stack's challtestsrv: an
   * authoritative server of the test's own (e.g. Knot, for DNS-01 through dynamic updates).
   */
  pebbleDnsServer?: string;
  /** More of Pebble's environment, e.g. `PEBBLE_AUTHZREUSE: '0'` (every order validates again). */
  pebbleEnv?: Record<string, string>;
}

/** The test image of Marina's managed proxy (scripts/test-images/caddy/). */
export const MANAGED_CADDY_IMAGE = 'marina-test/caddy';

/** Why the real edge stack cannot run here, or null when it can. */
export function edgeStackUnavailable(): string | null {
  const absent = [CADDY, PEBBLE, CHALLTESTSRV].filter((path) => !existsSync(path));
  if (absent.length > 0) {
    return `${absent.join(', ')} missing: run scripts/install-test-deps.sh (Debian packages caddy and pebble)`;
  }
  return null;
}

export async function startEdgeStack(options: EdgeStackOptions = {}): Promise<EdgeStack> {
  const unavailable = edgeStackUnavailable();
  if (unavailable) throw new Error(`The edge stack cannot start: ${unavailable}.`);
  // A free port found here may be taken by another test file before a process binds it: start
  // again on new ports then (everything of the failed attempt is already stopped).
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(options.caddy ?? 'process', options);
    } catch (error) {
      if (attempt >= 3 || !/address already in use/i.test((error as Error).message)) throw error;
    }
  }
}

async function startOnce(
  caddyMode: 'process' | 'managed',
  { pebbleDnsServer, pebbleEnv = {} }: Pick<EdgeStackOptions, 'pebbleDnsServer' | 'pebbleEnv'>,
): Promise<EdgeStack> {
  const dir = await mkdtemp(join(tmpdir(), 'marina-edge-'));
  const processes: Record<keyof EdgeStackProcessLogs, Process | null> = { pebble: null, dns: null, caddy: null };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(Object.values(processes).map((child) => child?.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [dnsPort, dnsManagementPort, acmePort, pebbleManagementPort, httpPort, httpsPort, adminPort] = [
      await freeTcpAndUdpPort(),
      await freeTcpPort(),
      await freeTcpPort(),
      await freeTcpPort(),
      await freeTcpPort(),
      await freeTcpPort(),
      await freeTcpPort(),
    ];
    // Debian ships no certificate for Pebble's own HTTPS listeners: a CA of our own, trusted by
    // Caddy (to talk ACME) and by this helper (to fetch Pebble's issuing root).
    const testCa = await makeTestCa(dir, 'test-ca', { commonName: 'Marina test CA for Pebble' });
    const listener = await testCa.issue('pebble-listener', { names: ['127.0.0.1', 'localhost'] });
    const tls = {
      caPath: testCa.certificatePath,
      caPem: testCa.certificatePem,
      certificatePath: listener.certificatePath,
      keyPath: listener.keyPath,
    };

    // challtestsrv: only its DNS and its management API; no default answers (a name resolves only
    // when a test says so, so domain verification can fail), no challenge listeners of its own.
    processes.dns = startProcess(CHALLTESTSRV, [
      '-defaultIPv4',
      '',
      '-defaultIPv6',
      '',
      '-dns01',
      `127.0.0.1:${dnsPort}`,
      '-management',
      `127.0.0.1:${dnsManagementPort}`,
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
    ]);
    const dnsManagementUrl = `http://127.0.0.1:${dnsManagementPort}`;

    const pebbleConfig = join(dir, 'pebble-config.json');
    await writeFile(
      pebbleConfig,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${pebbleManagementPort}`,
          certificate: tls.certificatePath,
          privateKey: tls.keyPath,
          httpPort,
          tlsPort: httpsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );
    processes.pebble = startProcess(
      PEBBLE,
      ['-config', pebbleConfig, '-dnsserver', pebbleDnsServer ?? `127.0.0.1:${dnsPort}`],
      {
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: '0',
        ...pebbleEnv,
      },
    );

    const caddyConfigPath = join(dir, 'caddy-initial.json');
    await writeFile(caddyConfigPath, JSON.stringify({ admin: { listen: `127.0.0.1:${adminPort}` } }));
    const caddyEnv = {
      XDG_DATA_HOME: join(dir, 'caddy-data'),
      XDG_CONFIG_HOME: join(dir, 'caddy-config'),
      HOME: join(dir, 'caddy-home'),
    };
    await Promise.all(Object.values(caddyEnv).map((path) => mkdir(path, { recursive: true })));
    const startCaddy = (resume = true) =>
      startProcess(CADDY, ['run', '--config', caddyConfigPath, ...(resume ? ['--resume'] : [])], caddyEnv);
    processes.caddy = caddyMode === 'process' ? startCaddy() : null;
    const caddyAdminUrl = `http://127.0.0.1:${adminPort}`;

    await Promise.all([
      waitUntil('pebble-challtestsrv management API', processes.dns, async () => {
        await plainRequest('POST', `${dnsManagementUrl}/dns-request-history`, { host: 'ready.invalid' });
      }),
      waitUntil('Pebble ACME directory', processes.pebble, async () => {
        await tlsGet(`https://127.0.0.1:${acmePort}/dir`, tls.caPem);
      }),
      caddyMode === 'process'
        ? waitUntil('Caddy admin API', processes.caddy, async () => {
            await plainRequest('GET', `${caddyAdminUrl}/config/`);
          })
        : undefined,
    ]);
    const issuingRootPem = await tlsGet(`https://127.0.0.1:${pebbleManagementPort}/roots/0`, tls.caPem);
    if (!issuingRootPem.includes('BEGIN CERTIFICATE')) {
      throw new Error(`Pebble's management API gave no root certificate: ${issuingRootPem.slice(0, 200)}`);
    }
    const issuingRootPath = join(dir, 'pebble-issuing-root.pem');
    await writeFile(issuingRootPath, issuingRootPem);

    const dnsApi = async (path: string, body: Record<string, unknown>) => {
      await plainRequest('POST', `${dnsManagementUrl}/${path}`, body);
    };
    const pebbleOutput = () => processes.pebble?.output() ?? '';

    return {
      dir,
      caddyAdminUrl,
      httpPort,
      httpsPort,
      acmeDirectoryUrl: `https://127.0.0.1:${acmePort}/dir`,
      acmeCaRootsPath: tls.caPath,
      issuingRootPem,
      issuingRootPath,
      dnsResolver: `127.0.0.1:${dnsPort}`,
      dnsPort,
      marinaEnv: () => ({
        ...(caddyMode === 'process'
          ? { MARINA_CADDY_ADMIN_URL: caddyAdminUrl }
          : { MARINA_CADDY_IMAGE: MANAGED_CADDY_IMAGE, MARINA_CADDY_ADMIN_PORT: String(adminPort) }),
        MARINA_EDGE_HTTP_PORT: String(httpPort),
        MARINA_EDGE_HTTPS_PORT: String(httpsPort),
        MARINA_ACME_CA: `https://127.0.0.1:${acmePort}/dir`,
        MARINA_ACME_CA_ROOTS: tls.caPath,
        MARINA_ACME_EMAIL: 'edge-tests@marina.test',
        MARINA_DNS_RESOLVER: `127.0.0.1:${dnsPort}`,
        MARINA_EDGE_ADDRESSES: '127.0.0.1',
      }),
      setA: (host, addresses) => dnsApi('add-a', { host: fqdn(host), addresses }),
      clearA: (host) => dnsApi('clear-a', { host: fqdn(host) }),
      setAAAA: (host, addresses) => dnsApi('add-aaaa', { host: fqdn(host), addresses }),
      clearAAAA: (host) => dnsApi('clear-aaaa', { host: fqdn(host) }),
      setTxt: (host, value) => dnsApi('set-txt', { host: fqdn(host), value }),
      clearTxt: (host) => dnsApi('clear-txt', { host: fqdn(host) }),
      setCname: (host, target) => dnsApi('set-cname', { host: fqdn(host), target: fqdn(target) }),
      clearCname: (host) => dnsApi('clear-cname', { host: fqdn(host) }),
      pointAtEdge: (host) => dnsApi('add-a', { host: fqdn(host), addresses: ['127.0.0.1'] }),
      dnsQueriesFor: async (host) => {
        // Unlike the record setters, the history wants the name without its trailing dot.
        const name = host.replace(/\.$/, '');
        const answer = await plainRequest('POST', `${dnsManagementUrl}/dns-request-history`, { host: name });
        return JSON.parse(answer || '[]') as unknown[];
      },
      pebbleOrderCount: () => countOrders(pebbleOutput()),
      pebbleValidationsFor: (host) => countValidations(pebbleOutput(), host),
      loadCaddyConfig: async (config) => {
        await plainRequest('POST', `${caddyAdminUrl}/load`, config);
      },
      caddyConfig: async (path = '') => JSON.parse(await plainRequest('GET', `${caddyAdminUrl}/config/${path}`)),
      restartCaddy: async (options = {}) => {
        if (caddyMode === 'managed') throw new Error('the managed proxy is a container: restart it with Docker');
        await processes.caddy?.kill();
        processes.caddy = startCaddy(options.resume ?? true);
        const caddy = processes.caddy;
        await waitUntil('Caddy admin API after a restart', caddy, async () => {
          await plainRequest('GET', `${caddyAdminUrl}/config/`);
        });
      },
      logs: () => ({
        pebble: pebbleOutput(),
        dns: processes.dns?.output() ?? '',
        caddy: processes.caddy?.output() ?? '',
      }),
      stop,
    };
  } catch (error) {
    const logs = Object.entries(processes)
      .map(([name, child]) => `--- ${name}:\n${child?.output().slice(-2_000) ?? '(not started)'}`)
      .join('\n');
    await stop();
    throw new Error(`The edge stack did not start: ${(error as Error).message}\n${logs}`);
  }
}

/** challtestsrv serves a record only for a fully qualified name (silently nothing without the dot). */
function fqdn(host: string): string {
  return host.endsWith('.') ? host : `${host}.`;
}

/** Pebble logs "There are now N orders in the db" after each new order. */
function countOrders(log: string): number {
  let count = 0;
  for (const match of log.matchAll(/There are now (\d+) orders in the db/g)) count = Math.max(count, Number(match[1]));
  return count;
}

/** Pebble logs one "Pulled a task … Value:"<name>"" line per challenge it validates for the name. */
function countValidations(log: string, host: string): number {
  const needle = `Value:"${host.replace(/\.$/, '').toLowerCase()}"`;
  return log.split('\n').filter((line) => line.includes('Pulled a task') && line.includes(needle)).length;
}

// ---- processes ----------------------------------------------------------------------------------

export interface Process {
  child: ChildProcess;
  output(): string;
  exited(): boolean;
  kill(): Promise<void>;
}

/** util-linux (essential in Debian): lets a child die with the test worker that started it. */
const SETPRIV = '/usr/bin/setpriv';

export function startProcess(command: string, args: string[], env: Record<string, string> = {}): Process {
  // A worker killed mid-test (a timeout, Ctrl-C) never runs stop(): the kernel then kills the
  // stack's processes instead of leaving them on their ports. setpriv execs, so the pid stays.
  const [file, argv] = existsSync(SETPRIV)
    ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]]
    : [command, args];
  const child = spawn(file, argv, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      output += `\n[exited with ${signal ?? `code ${code}`}]\n`;
      resolve();
    }),
  );
  child.once('error', (error) => {
    exited = true;
    output += `\n[could not start: ${error.message}]\n`;
  });
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > KEEP_OUTPUT_CHARS * 2) output = output.slice(-KEEP_OUTPUT_CHARS);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return {
    child,
    output: () => output,
    exited: () => exited,
    kill: async () => {
      if (exited || child.exitCode !== null || child.pid === undefined) return;
      child.kill('SIGTERM');
      const killed = await Promise.race([exit.then(() => true), sleep(3_000).then(() => false)]);
      if (!killed) {
        child.kill('SIGKILL');
        await Promise.race([exit, sleep(3_000)]);
      }
    },
  };
}

export async function waitUntil(what: string, process: Process | null, ready: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: unknown = null;
  for (;;) {
    if (process?.exited()) throw new Error(`${what}: the process exited:\n${process.output().slice(-2_000)}`);
    try {
      await ready();
      return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} did not answer within ${START_TIMEOUT_MS} ms: ${(lastError as Error)?.message}`);
    }
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- ports --------------------------------------------------------------------------------------

const freeTcpPort = () => freePort();

function udpFree(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** A port free for both TCP and UDP on loopback: the DNS server listens on both. */
export function freeTcpAndUdpPort(): Promise<number> {
  return freePort(async (port) => (await loopbackPortFree(port)) && (await udpFree(port)));
}

// ---- small HTTP clients -------------------------------------------------------------------------

/** A JSON request to a loopback HTTP API; resolves with the body, throws on a non-2xx answer. */
async function plainRequest(method: 'GET' | 'POST', url: string, body?: unknown): Promise<string> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} → ${response.status}: ${text.slice(0, 2_000)}`);
  return text;
}

/** GET over HTTPS trusting only `ca`; resolves with the body of a 2xx answer. */
function tlsGet(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, timeout: REQUEST_TIMEOUT_MS }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(text);
        else reject(new Error(`GET ${url} → ${status}: ${text.slice(0, 500)}`));
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}
