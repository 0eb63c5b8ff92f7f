import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import type { TsigKey } from '../../src/adapters/dns/tsig.js';
import { freeTcpAndUdpPort, type Process, startProcess, waitUntil } from './edge-stack.js';

/**
 * A real authoritative DNS server for tests: Debian's Knot (`knotd`), run as the current user from
 * a temporary folder (its configuration, zone, journal and control socket; no systemd), serving one
 * zone on a random loopback port and accepting RFC 2136 updates signed with one TSIG key.
 */

const KNOTD = '/usr/sbin/knotd';
const KNOTC = '/usr/sbin/knotc';
const KJOURNALPRINT = '/usr/sbin/kjournalprint';
const run = promisify(execFile);

export interface KnotServer {
  /** `127.0.0.1:<port>`, UDP and TCP. */
  address: string;
  host: string;
  port: number;
  zone: string;
  /** The key updates must be signed with. */
  key: TsigKey;
  /** `<name>:<algorithm>:<base64>`, as MARINA_EDGE_DNS01_TSIG takes it. */
  keySetting: string;
  /** The TXT values Knot serves for the name now (asked over UDP, as a resolver would). */
  txt(name: string): Promise<string[]>;
  /** Every change made to the zone since start (Knot's journal, as kjournalprint prints it). */
  journal(): Promise<string>;
  /** Gives the key a new secret, or the one given (Knot reloads): updates signed with another are refused. */
  rotateKey(secret?: Buffer): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

export function knotUnavailable(): string | null {
  return existsSync(KNOTD) ? null : `${KNOTD} missing: run scripts/install-test-deps.sh (Debian package knot)`;
}

export async function startKnot(zone: string): Promise<KnotServer> {
  const unavailable = knotUnavailable();
  if (unavailable) throw new Error(`Knot cannot start: ${unavailable}.`);
  const dir = await mkdtemp(join(tmpdir(), 'marina-knot-'));
  const port = await freeTcpAndUdpPort();
  let key: TsigKey = { name: 'marina-acme.', algorithm: 'hmac-sha256', secret: randomBytes(32) };
  await mkdir(join(dir, 'db'));
  await writeFile(
    join(dir, `${zone}.zone`),
    [`$ORIGIN ${zone}.`, '$TTL 60', '@ SOA ns1 hostmaster 1 3600 600 86400 60', '@ NS ns1', 'ns1 A 127.0.0.1', ''].join(
      '\n',
    ),
  );
  const config = join(dir, 'knot.conf');
  const writeConfig = () =>
    writeFile(
      config,
      [
        'server:',
        `    rundir: "${dir}"`,
        `    listen: 127.0.0.1@${port}`,
        'log:',
        '  - target: stderr',
        '    any: info',
        'database:',
        `    storage: "${join(dir, 'db')}"`,
        'control:',
        `    listen: "${join(dir, 'knot.sock')}"`,
        'key:',
        `  - id: ${key.name}`,
        `    algorithm: ${key.algorithm}`,
        `    secret: ${key.secret.toString('base64')}`,
        'acl:',
        '  - id: marina_update',
        `    key: ${key.name}`,
        '    action: update',
        'zone:',
        `  - domain: ${zone}`,
        `    storage: "${dir}"`,
        `    file: "${zone}.zone"`,
        '    acl: marina_update',
        '    zonefile-sync: -1',
        '    journal-content: changes',
        '',
      ].join('\n'),
    );
  await writeConfig();
  const knot: Process = startProcess(KNOTD, ['--config', config]);
  const stop = async () => {
    await knot.kill();
    await rm(dir, { recursive: true, force: true });
  };
  const txt = async (name: string) => {
    const answer = await udpQuery(port, name, 'TXT');
    if (answer.rcode !== 'NOERROR' && answer.rcode !== 'NXDOMAIN') throw new Error(`Knot answered ${answer.rcode}`);
    return (answer.answers ?? [])
      .filter((a): a is dnsPacket.TxtAnswer => a.type === 'TXT')
      .map((a) => [a.data].flat().map(String).join(''));
  };
  try {
    await waitUntil('Knot', knot, async () => {
      const answer = await udpQuery(port, zone, 'SOA');
      if (answer.rcode !== 'NOERROR' || (answer.answers ?? []).length === 0) throw new Error(`SOA: ${answer.rcode}`);
    });
  } catch (error) {
    const output = knot.output().slice(-2_000);
    await stop();
    throw new Error(`Knot did not start: ${(error as Error).message}\n${output}`);
  }
  return {
    address: `127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    zone,
    get key() {
      return key;
    },
    keySetting: `${key.name}:${key.algorithm}:${key.secret.toString('base64')}`,
    txt,
    journal: async () => (await run(KJOURNALPRINT, ['-c', config, `${zone}.`])).stdout,
    rotateKey: async (secret = randomBytes(32)) => {
      key = { ...key, secret };
      await writeConfig();
      await run(KNOTC, ['-c', config, 'reload']);
    },
    logs: () => knot.output(),
    stop,
  };
}

function udpQuery(port: number, name: string, type: 'TXT' | 'SOA'): Promise<dnsPacket.Packet & { rcode?: string }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const id = Math.floor(Math.random() * 0xffff);
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no DNS answer within 1 s'));
    }, 1_000);
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.on('message', (message) => {
      const packet = dnsPacket.decode(message) as dnsPacket.Packet & { rcode?: string };
      if (packet.id !== id) return;
      clearTimeout(timer);
      socket.close();
      resolve(packet);
    });
    socket.send(dnsPacket.encode({ id, type: 'query', questions: [{ name, type }] }), port, '127.0.0.1');
  });
}
