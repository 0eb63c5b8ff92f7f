import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../test/helpers/app.js';
import { makeOrganization } from '../../test/helpers/factories.js';
import { ApiError, MarinaClient } from './api/client.js';
import { CliError, CliUsageError } from './errors.js';
import { registerNodeCommands } from './nodes.js';

/**
 * `marina nodes …` against a real Marina (PostgreSQL, the API over HTTP): hosts are rows put in the
 * `hosts` table directly, as no Swarm runs here (test/cluster/nodes.test.ts drives a real one).
 */
let t: TestApp;
let admin: Browser;
let client: MarinaClient;
let token: string;
let folder: string;
/** How many times a command asked for its client: 0 means it asked Marina nothing. */
let clients = 0;

const GIB = 1024 ** 3;
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const KEY_TEXT = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCfakekeymaterial';
const KEY = `-----BEGIN PRIVATE KEY-----\n${KEY_TEXT}\n-----END PRIVATE KEY-----\n`;
/** As `ssh-keygen -lf` prints it: SHA256 and 43 characters of base64. */
const HOST_KEY = `SHA256:${'x'.repeat(40)}abc`;
const run = promisify(execFile);

beforeAll(async () => {
  t = await createTestApp();
  admin = await adminBrowser(t);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { secret } = (await as(t, admin)('POST', '/api/v1/tokens', { name: 'cli' })).json<{ secret: string }>();
  token = secret;
  client = new MarinaClient({ url: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, token });
  await t.db
    .insertInto('hosts')
    .values([
      {
        id: 'node-a',
        name: 'node-a',
        docker_host: 'tcp://10.0.0.1:2376',
        role: 'manager',
        address: '10.0.0.1',
        node_state: 'ready',
        availability: 'active',
        cpus: 4,
        memory_bytes: 8 * GIB,
        state: 'reachable',
      },
      {
        id: 'node-b',
        name: 'node-b',
        docker_host: 'tcp://10.0.0.2:2376',
        role: 'worker',
        address: '10.0.0.2',
        node_state: 'down',
        availability: 'drain',
        cpus: 2,
        memory_bytes: 4 * GIB,
        state: 'unreachable',
      },
    ])
    .execute();
  folder = await mkdtemp(join(tmpdir(), 'marina-nodes-cli-'));
}, 120_000);

afterAll(async () => {
  await t?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** Runs `marina nodes …`: what it printed, and what it threw. */
async function marina(...args: string[]): Promise<{ out: string; error?: Error }> {
  const program = new Command('marina').exitOverride().configureOutput({ writeErr: () => {} });
  registerNodeCommands(program, async () => {
    clients++;
    return client;
  });
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void out.push(parts.join(' ')));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  // As under a script or CI: no terminal to ask on.
  const tty = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY');
  Object.defineProperty(process.stdin, 'isTTY', { value: false, configurable: true });
  let error: Error | undefined;
  try {
    await program.parseAsync(['node', 'marina', 'nodes', ...args]);
  } catch (thrown) {
    error = thrown as Error;
  } finally {
    log.mockRestore();
    write.mockRestore();
    if (tty) Object.defineProperty(process.stdin, 'isTTY', tty);
    else delete (process.stdin as { isTTY?: boolean }).isTTY;
  }
  return { out: out.join('\n'), error };
}

/** A folder of TLS files, as DOCKER_CERT_PATH holds them. */
async function tlsDir(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(folder, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text, { mode: 0o600 });
  return dir;
}

describe('marina nodes ls', () => {
  it('prints each host with its role, Swarm state, capacity and instances; --json gives the API’s nodes', async () => {
    const { out, error } = await marina('ls');
    expect(error).toBeUndefined();
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+ROLE\s+STATE\s+AVAILABILITY\s+ADDRESS\s+CPUS\s+MEMORY\s+GUARANTEED\s+INSTANCES$/);
    const row = (name: string) => lines.find((line) => line.startsWith(`${name} `));
    expect(row('node-a')).toMatch(/^node-a\s+manager\s+ready\s+active\s+10\.0\.0\.1\s+4\s+8\.0 GB\s+-\s+0$/);
    expect(row('node-b')).toMatch(
      /^node-b\s+worker\s+down \(engine unreachable\)\s+drain\s+10\.0\.0\.2\s+2\s+4\.0 GB\s+-\s+0$/,
    );

    const json = JSON.parse((await marina('ls', '--json')).out) as { name: string; memoryBytes: number }[];
    expect(json.filter((n) => n.name.startsWith('node-'))).toEqual([
      expect.objectContaining({ name: 'node-a', memoryBytes: 8 * GIB }),
      expect.objectContaining({ name: 'node-b', memoryBytes: 4 * GIB }),
    ]);
  });
});

describe('marina nodes add', () => {
  const add = (...args: string[]) => marina('add', 'node-c', '--docker-host', 'tcp://10.0.0.3:2376', ...args);

  it('refuses a missing TLS folder or file, and a file of the wrong kind, before asking Marina anything', async () => {
    clients = 0;
    const missingFolder = await add('--tls-dir', join(folder, 'nowhere'));
    expect(missingFolder.error).toBeInstanceOf(CliUsageError);
    expect(missingFolder.error?.message).toBe(
      `--tls-dir: cannot open the folder ${join(folder, 'nowhere')} (no such file).`,
    );

    const noCert = await tlsDir('no-cert', { 'ca.pem': CERT, 'key.pem': KEY });
    const missingFile = await add('--tls-dir', noCert);
    expect(missingFile.error).toBeInstanceOf(CliUsageError);
    expect(missingFile.error?.message).toBe(
      `--tls-dir: cannot read ${join(noCert, 'cert.pem')}, Marina’s client certificate (no such file).`,
    );

    const swapped = await tlsDir('swapped', { 'ca.pem': CERT, 'cert.pem': KEY, 'key.pem': CERT });
    const wrongKind = await add('--tls-dir', swapped);
    expect(wrongKind.error?.message).toBe(
      `--tls-dir: ${join(swapped, 'cert.pem')} does not hold Marina’s client certificate in PEM form.`,
    );

    const emptyKey = await tlsDir('empty-key', { 'ca.pem': CERT, 'cert.pem': CERT, 'key.pem': '\n' });
    expect((await add('--tls-dir', emptyKey)).error?.message).toMatch(/^--tls-dir: .*key\.pem is empty/);

    const files = await tlsDir('files', { 'ca.pem': CERT, 'cert.pem': CERT, 'key.pem': KEY });
    const noKey = await add('--ca', join(files, 'ca.pem'), '--cert', join(files, 'cert.pem'));
    expect(noKey.error?.message).toMatch(/^Give --tls-dir .* or --ca, --cert and --key: --key is missing\.$/);
    const badKey = await add('--tls-dir', files, '--key', join(files, 'gone.pem'));
    expect(badKey.error?.message).toBe(
      `--key: cannot read ${join(files, 'gone.pem')}, the client certificate’s private key (no such file).`,
    );
    const folderAsKey = await add('--tls-dir', files, '--key', files);
    expect(folderAsKey.error?.message).toMatch(/^--key: .* is not a file/);

    expect(clients).toBe(0);
    for (const refusal of [missingFolder, missingFile, wrongKind, noKey, badKey, folderAsKey]) {
      expect(refusal.out).toBe('');
      expect(refusal.error?.message).not.toContain(KEY_TEXT);
    }
  });

  it('sends the files once they check out: Marina answers for the rest, and the key is never printed', async () => {
    const files = await tlsDir('good', { 'ca.pem': CERT, 'cert.pem': CERT, 'key.pem': KEY });
    // "local" passes every check here and is refused by Marina before it reaches any engine.
    const { out, error } = await marina('add', 'local', '--docker-host', 'tcp://10.0.0.3:2376', '--tls-dir', files);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect(error?.message).toMatch(/"local" is the engine Marina started on/);
    expect(`${out}${error?.message}`).not.toContain(KEY_TEXT);
  });

  it('takes manager or worker as the role, nothing else', async () => {
    clients = 0;
    const files = await tlsDir('role', { 'ca.pem': CERT, 'cert.pem': CERT, 'key.pem': KEY });
    const { error } = await add('--tls-dir', files, '--role', 'leader');
    expect(error?.message).toMatch(/--role <role>' argument 'leader' is invalid/);
    expect(clients).toBe(0);
  });
});

describe('marina nodes add over SSH', () => {
  const add = (...args: string[]) => marina('add', 'node-s', '--docker-host', 'ssh://marina@10.0.0.4', ...args);
  let sshKey: string;
  let sshKeyText: string;

  /** A key pair as an operator makes it: `ssh-keygen -t ed25519 -N <passphrase> -f <file>`. */
  async function keyPair(name: string, passphrase = ''): Promise<string> {
    const file = join(folder, name);
    await rm(file, { force: true });
    await rm(`${file}.pub`, { force: true });
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'marina', '-f', file]);
    return file;
  }

  beforeAll(async () => {
    sshKey = await keyPair('marina_key');
    sshKeyText = await readFile(sshKey, 'utf8');
  });

  it('refuses TLS and SSH options together, and each with the other kind of address, before asking Marina', async () => {
    clients = 0;
    const files = await tlsDir('ssh-mix', { 'ca.pem': CERT, 'cert.pem': CERT, 'key.pem': KEY });
    const mixed = await add('--tls-dir', files, '--ssh-key', sshKey, '--host-key', HOST_KEY);
    expect(mixed.error).toBeInstanceOf(CliUsageError);
    expect(mixed.error?.message).toBe(
      'TLS options (--tls-dir) and SSH options (--ssh-key and --host-key) do not go together: TLS files (--tls-dir, or --ca, --cert and --key) are for a tcp:// engine, --ssh-key and --host-key for an ssh:// one.',
    );
    // The same on a tcp:// address: which kind of address it is does not matter.
    const mixedTcp = await marina(
      'add',
      'node-c',
      '--docker-host',
      'tcp://10.0.0.3:2376',
      '--key',
      join(files, 'key.pem'),
      '--host-key',
      HOST_KEY,
    );
    expect(mixedTcp.error?.message).toMatch(
      /^TLS options \(--key\) and SSH options \(--host-key\) do not go together: /,
    );

    const tlsForSsh = await add('--tls-dir', files);
    expect(tlsForSsh.error).toBeInstanceOf(CliUsageError);
    expect(tlsForSsh.error?.message).toBe(
      'An ssh:// engine takes --ssh-key and --host-key, not --tls-dir (TLS files are for tcp://<address>:2376).',
    );

    const nothing = await add();
    expect(nothing.error).toBeInstanceOf(CliUsageError);
    expect(nothing.error?.message).toBe(
      'An ssh:// engine needs --ssh-key (Marina’s private key, a file) and --host-key (the host key’s fingerprint, SHA256:…): --ssh-key and --host-key are missing.',
    );
    const noHostKey = await add('--ssh-key', sshKey);
    expect(noHostKey.error?.message).toMatch(/: --host-key is missing\.$/);
    const noKey = await add('--host-key', HOST_KEY);
    expect(noKey.error?.message).toMatch(/: --ssh-key is missing\.$/);

    const sshForTcp = await marina(
      'add',
      'node-c',
      '--docker-host',
      'tcp://10.0.0.3:2376',
      '--ssh-key',
      sshKey,
      '--host-key',
      HOST_KEY,
    );
    expect(sshForTcp.error).toBeInstanceOf(CliUsageError);
    expect(sshForTcp.error?.message).toBe(
      'A tcp:// engine takes TLS files (--tls-dir, or --ca, --cert and --key), not --ssh-key and --host-key: over SSH, the address is ssh://<user>@<address>.',
    );

    const otherScheme = await marina('add', 'node-c', '--docker-host', 'unix:///var/run/docker.sock');
    expect(otherScheme.error?.message).toBe(
      '--docker-host: "unix:///var/run/docker.sock" is not an engine address: use tcp://<address>:2376 (with --tls-dir) or ssh://<user>@<address> (with --ssh-key and --host-key).',
    );

    expect(clients).toBe(0);
    for (const refusal of [mixed, mixedTcp, tlsForSsh, nothing, noHostKey, noKey, sshForTcp, otherScheme]) {
      expect(refusal.out).toBe('');
      expect(refusal.error?.message).not.toContain(sshKeyText.split('\n')[1]);
    }
  });

  it('refuses a fingerprint that is not SHA256:…, a public key, a key under a passphrase and a missing file', async () => {
    clients = 0;
    const md5 = await add('--ssh-key', sshKey, '--host-key', 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48');
    expect(md5.error).toBeInstanceOf(CliUsageError);
    expect(md5.error?.message).toBe(
      '--host-key: "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48" is not a fingerprint: give SHA256:… as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it on the host.',
    );
    expect((await add('--ssh-key', sshKey, '--host-key', 'SHA256:short')).error?.message).toMatch(
      /^--host-key: "SHA256:short" is not a fingerprint/,
    );

    const publicKey = await add('--ssh-key', `${sshKey}.pub`, '--host-key', HOST_KEY);
    expect(publicKey.error).toBeInstanceOf(CliUsageError);
    expect(publicKey.error?.message).toBe(
      `--ssh-key: ${sshKey}.pub is a public key: give the private one (without .pub).`,
    );

    const locked = await keyPair('locked_key', 'a passphrase');
    const withPassphrase = await add('--ssh-key', locked, '--host-key', HOST_KEY);
    expect(withPassphrase.error).toBeInstanceOf(CliUsageError);
    expect(withPassphrase.error?.message).toBe(
      `--ssh-key: ${locked} is protected by a passphrase, which Marina cannot type: give a key without one, kept for Marina alone.`,
    );

    const gone = await add('--ssh-key', join(folder, 'gone_key'), '--host-key', HOST_KEY);
    expect(gone.error?.message).toBe(
      `--ssh-key: cannot read ${join(folder, 'gone_key')}, Marina’s SSH private key (no such file).`,
    );
    const certificate = await tlsDir('ssh-cert', { 'ca.pem': CERT });
    const notAKey = await add('--ssh-key', join(certificate, 'ca.pem'), '--host-key', HOST_KEY);
    expect(notAKey.error?.message).toBe(
      `--ssh-key: ${join(certificate, 'ca.pem')} does not hold Marina’s SSH private key in PEM form.`,
    );
    expect(clients).toBe(0);
  });

  it('sends the key and the fingerprint as ssh, without tls: Marina answers for the rest, and the key is never printed', async () => {
    // What the CLI sends, seen on the way out.
    const sent: unknown[] = [];
    const shared = client;
    client = new MarinaClient({ url: shared.url, token });
    client.api.use({
      async onRequest({ request }) {
        if (request.method === 'POST') sent.push(await request.clone().json());
      },
    });
    try {
      // "local" passes every check here and is refused by Marina before it reaches any engine.
      const { out, error } = await marina(
        'add',
        'local',
        '--docker-host',
        'ssh://marina@10.0.0.4:2222',
        '--ssh-key',
        sshKey,
        '--host-key',
        ` ${HOST_KEY}\n`,
        '--role',
        'worker',
      );
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(400);
      expect(error?.message).toMatch(/"local" is the engine Marina started on/);
      expect(`${out}${error?.message}`).not.toContain(sshKeyText.split('\n')[1]);
      expect(sent).toEqual([
        {
          name: 'local',
          dockerHost: 'ssh://marina@10.0.0.4:2222',
          ssh: { privateKey: sshKeyText, hostKeyFingerprint: HOST_KEY },
          role: 'worker',
        },
      ]);
    } finally {
      client = shared;
    }
  });
});

describe('marina nodes rm, drain, activate', () => {
  it('does not remove a node without --yes when there is no terminal to ask on', async () => {
    const { error } = await marina('rm', 'node-b');
    expect(error).toBeInstanceOf(CliUsageError);
    expect(error?.message).toBe('Not removed (pass --yes when there is no terminal to ask on).');
    const row = await t.db.selectFrom('hosts').select(['id', 'role']).where('id', '=', 'node-b').executeTakeFirst();
    expect(row).toEqual({ id: 'node-b', role: 'worker' });
  });

  it('names the known nodes when asked for one that is not', async () => {
    for (const verb of ['rm', 'drain', 'activate']) {
      const { error } = await marina(verb, 'node-z', ...(verb === 'rm' ? ['--yes'] : []));
      expect(error).toBeInstanceOf(CliUsageError);
      expect(error?.message).toMatch(/^No node "node-z" \(known: .*node-a, node-b.*; see `marina nodes ls`\)\.$/);
    }
  });
});

describe('marina nodes placement', () => {
  beforeAll(async () => {
    await makeOrganization(as(t, admin), { slug: 'acme' });
  });

  it('names the node a new instance would go on, by organization slug', async () => {
    const { out, error } = await marina('placement', '--memory-mb', '1024', '--cpus', '1', '--organization', 'acme');
    expect(error).toBeUndefined();
    expect(out).toMatch(/^An instance of 1024 MB and 1 CPU \(production\) would go on node-a: /);
  });

  it('says why no node can take it, with each node’s reason, and fails for scripts', async () => {
    const { out, error } = await marina(
      'placement',
      '--memory-mb',
      '65536',
      '--cpus',
      '2',
      '--organization',
      'acme',
      '--stage',
      'staging',
    );
    expect(error).toBeInstanceOf(CliError);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^No node can take an instance of 64 GB and 2 CPUs: /);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^NAME\s+REASON$/)]));
    expect(lines.some((line) => line.startsWith('node-a '))).toBe(true);
    expect(lines.some((line) => line.startsWith('node-b '))).toBe(true);
  });

  it('refuses an unknown organization and a size that is not a number', async () => {
    const unknown = await marina('placement', '--memory-mb', '1024', '--cpus', '1', '--organization', 'nobody');
    expect(unknown.error?.message).toBe('No organization "nobody" (see `marina orgs ls`).');
    const bad = await marina('placement', '--memory-mb', 'lots', '--cpus', '1', '--organization', 'acme');
    expect(bad.error?.message).toBe('--memory-mb: "lots" is not a whole number of MB.');
  });
});
