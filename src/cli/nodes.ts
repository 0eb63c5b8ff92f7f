import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { Body, Json } from './api/types.js';
import { CliError, CliUsageError, exitCodes } from './errors.js';
import { registerNodeDrainCommand } from './node-drain.js';
import { organizationId } from './offsite/lookup.js';
import { printJson, size, table } from './output.js';

/** The cluster's nodes, for platform admins: `marina nodes …`. */

export type Node = Json<'/api/v1/nodes', 'get'>['nodes'][number];
type Tls = NonNullable<Body<'/api/v1/nodes', 'post'>['tls']>;
type Ssh = NonNullable<Body<'/api/v1/nodes', 'post'>['ssh']>;
type Placement = Json<'/api/v1/nodes/placement', 'get'>['placement'];

/** As the server takes them (src/modules/cluster/validate.ts): a bigger file is not a PEM file of a client. */
const MAX_PEM = 64 * 1024;

/** What a file must hold, in words for a message, and the line it holds it after. */
interface PemSpec {
  what: string;
  pem: RegExp;
}

/** What each TLS file is, where Docker's convention (DOCKER_CERT_PATH) keeps it, and what it must hold. */
const TLS_FILES = {
  ca: { file: 'ca.pem', what: 'the CA certificate that signed the engine’s', pem: /-----BEGIN CERTIFICATE-----/ },
  cert: { file: 'cert.pem', what: 'Marina’s client certificate', pem: /-----BEGIN CERTIFICATE-----/ },
  key: { file: 'key.pem', what: 'the client certificate’s private key', pem: /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/ },
} as const;
type TlsPart = keyof typeof TLS_FILES;

const SSH_KEY: PemSpec = {
  what: 'Marina’s SSH private key',
  pem: /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/,
};

/** `SHA256:` and 43 characters of base64, as `ssh-keygen -lf` prints it (src/adapters/ssh/fingerprint.ts). */
const HOST_KEY = /^SHA256:[A-Za-z0-9+/]{43}$/;
const HOST_KEY_HOW = 'as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it on the host';

const TLS_OPTIONS = ['tlsDir', 'ca', 'cert', 'key'] as const;
const SSH_OPTIONS = ['sshKey', 'hostKey'] as const;
/** `tlsDir` → `--tls-dir`. */
const flag = (option: string) => `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
/** `--ca, --cert and --key`. */
const flags = (options: readonly string[]) =>
  options
    .map(flag)
    .join(', ')
    .replace(/, ([^,]*)$/, ' and $1');

const reasonOf = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  return code ?? String(error);
};

/** One PEM file, checked for its shape; its text is never part of a message (the key least of all). */
async function pemFile({ what, pem }: PemSpec, path: string, option: string): Promise<string> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw new CliUsageError(`${option}: cannot read ${path}, ${what} (${reasonOf(error)}).`);
  }
  if (!info.isFile()) throw new CliUsageError(`${option}: ${path} is not a file (${what} was expected).`);
  if (info.size > MAX_PEM) throw new CliUsageError(`${option}: ${path} is larger than 64 KB: not a PEM file.`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(`${option}: cannot read ${path}, ${what} (${reasonOf(error)}).`);
  }
  if (text.trim() === '') throw new CliUsageError(`${option}: ${path} is empty (${what} was expected).`);
  if (!pem.test(text)) throw new CliUsageError(`${option}: ${path} does not hold ${what} in PEM form.`);
  return text;
}

export interface TlsOptions {
  tlsDir?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * The client's TLS material: ca.pem, cert.pem and key.pem of `--tls-dir` (the folder Docker's
 * DOCKER_CERT_PATH names), each replaceable by `--ca`, `--cert`, `--key`. Everything is checked here,
 * before Marina is asked anything.
 */
export async function readTls(opts: TlsOptions): Promise<Tls> {
  if (opts.tlsDir !== undefined) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(opts.tlsDir);
    } catch (error) {
      throw new CliUsageError(`--tls-dir: cannot open the folder ${opts.tlsDir} (${reasonOf(error)}).`);
    }
    if (!info.isDirectory())
      throw new CliUsageError(
        `--tls-dir: ${opts.tlsDir} is not a folder (give the folder of ca.pem, cert.pem, key.pem).`,
      );
  } else {
    const missing = (['ca', 'cert', 'key'] as const).filter((part) => opts[part] === undefined).map((p) => `--${p}`);
    if (missing.length > 0)
      throw new CliUsageError(
        `Give --tls-dir (a folder with ca.pem, cert.pem and key.pem), or --ca, --cert and --key: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing.`,
      );
  }
  const part = (name: TlsPart) => {
    const own = opts[name];
    if (own !== undefined) return pemFile(TLS_FILES[name], own, `--${name}`);
    return pemFile(TLS_FILES[name], join(opts.tlsDir ?? '', TLS_FILES[name].file), '--tls-dir');
  };
  return { ca: await part('ca'), cert: await part('cert'), key: await part('key') };
}

export interface SshOptions {
  sshKey?: string;
  hostKey?: string;
}

/**
 * An OpenSSH key (`openssh-key-v1`) says in its first bytes whether a passphrase protects it, where
 * Marina could not use it: no marker in the text says so, unlike an encrypted PEM key.
 */
function encryptedOpenSshKey(text: string): boolean {
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (!body) return /Proc-Type: 4,ENCRYPTED|BEGIN ENCRYPTED PRIVATE KEY/.test(text);
  const bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (bytes.toString('latin1', 0, magic.length) !== magic || bytes.length < magic.length + 4) return false;
  const length = bytes.readUInt32BE(magic.length);
  return bytes.toString('latin1', magic.length + 4, magic.length + 4 + length) !== 'none';
}

/**
 * The SSH material: the private key Marina signs in with (`--ssh-key`, a file), and the host key's
 * fingerprint it pins (`--host-key`). Both are checked here, before Marina is asked anything.
 */
export async function readSsh(opts: SshOptions): Promise<Ssh> {
  const missing = SSH_OPTIONS.filter((option) => opts[option] === undefined);
  if (missing.length > 0)
    throw new CliUsageError(
      `An ssh:// engine needs --ssh-key (Marina’s private key, a file) and --host-key (the host key’s fingerprint, SHA256:…): ${flags(missing)} ${missing.length === 1 ? 'is' : 'are'} missing.`,
    );
  const hostKeyFingerprint = (opts.hostKey ?? '').trim();
  if (!HOST_KEY.test(hostKeyFingerprint))
    throw new CliUsageError(`--host-key: "${hostKeyFingerprint}" is not a fingerprint: give SHA256:… ${HOST_KEY_HOW}.`);
  const path = opts.sshKey ?? '';
  let privateKey: string;
  try {
    privateKey = await pemFile(SSH_KEY, path, '--ssh-key');
  } catch (error) {
    // The public half is the usual mix-up (id_ed25519.pub for id_ed25519).
    const text = await readFile(path, 'utf8').catch(() => '');
    if (/^(ssh-|ecdsa-|sk-)\S+ AAAA/.test(text.trim()))
      throw new CliUsageError(`--ssh-key: ${path} is a public key: give the private one (without .pub).`);
    throw error;
  }
  if (encryptedOpenSshKey(privateKey))
    throw new CliUsageError(
      `--ssh-key: ${path} is protected by a passphrase, which Marina cannot type: give a key without one, kept for Marina alone.`,
    );
  return { privateKey, hostKeyFingerprint };
}

/**
 * What goes with `--docker-host`: the TLS files for tcp://, the SSH key and host key for ssh://.
 * The options of the other way are refused rather than ignored.
 */
export async function readAccess(
  dockerHost: string,
  opts: TlsOptions & SshOptions,
): Promise<{ tls: Tls } | { ssh: Ssh }> {
  const tlsGiven = TLS_OPTIONS.filter((option) => opts[option] !== undefined);
  const sshGiven = SSH_OPTIONS.filter((option) => opts[option] !== undefined);
  if (tlsGiven.length > 0 && sshGiven.length > 0)
    throw new CliUsageError(
      `TLS options (${flags(tlsGiven)}) and SSH options (${flags(sshGiven)}) do not go together: TLS files (--tls-dir, or --ca, --cert and --key) are for a tcp:// engine, --ssh-key and --host-key for an ssh:// one.`,
    );
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(dockerHost.trim())?.[1]?.toLowerCase();
  if (scheme === 'ssh') {
    if (tlsGiven.length > 0)
      throw new CliUsageError(
        `An ssh:// engine takes --ssh-key and --host-key, not ${flags(tlsGiven)} (TLS files are for tcp://<address>:2376).`,
      );
    return { ssh: await readSsh(opts) };
  }
  if (scheme === 'tcp') {
    if (sshGiven.length > 0)
      throw new CliUsageError(
        `A tcp:// engine takes TLS files (--tls-dir, or --ca, --cert and --key), not ${flags(sshGiven)}: over SSH, the address is ssh://<user>@<address>.`,
      );
    return { tls: await readTls(opts) };
  }
  throw new CliUsageError(
    `--docker-host: "${dockerHost}" is not an engine address: use tcp://<address>:2376 (with --tls-dir) or ssh://<user>@<address> (with --ssh-key and --host-key).`,
  );
}

/** Plan slugs, comma separated, repeatable. */
function plans(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

const cpus = (n: number) => `${Number(n.toFixed(2))} CPU${n === 1 ? '' : 's'}`;

/** Swarm's view when the host is a node; Marina's own reach of the engine otherwise (or besides). */
function stateOf(n: Node): string {
  if (!n.nodeState) return n.state;
  return n.state === 'unreachable' ? `${n.nodeState} (engine unreachable)` : n.nodeState;
}

export function nodeRows(nodes: Node[]) {
  return nodes.map((n) => ({
    name: n.name,
    role: n.role === 'manager' && n.managerReachability === 'unreachable' ? 'manager (unreachable)' : n.role,
    state: stateOf(n),
    availability: n.availability,
    address: n.address,
    cpus: n.cpus,
    memory: n.memoryBytes === null ? null : size(n.memoryBytes),
    guaranteed:
      n.guaranteedMemoryBytes === 0 && n.guaranteedCpus === 0
        ? null
        : `${size(n.guaranteedMemoryBytes)}, ${cpus(n.guaranteedCpus)}`,
    instances: n.instances,
  }));
}

export const NODE_COLUMNS = [
  'name',
  'role',
  'state',
  'availability',
  'address',
  'cpus',
  'memory',
  'guaranteed',
  'instances',
];

async function listNodes(c: MarinaClient): Promise<Node[]> {
  return (await c.call(c.api.GET('/api/v1/nodes'))).nodes;
}

/** A node by its name (which is its id too). */
async function resolveNode(c: MarinaClient, ref: string): Promise<Node> {
  const nodes = await listNodes(c);
  const found = nodes.find((n) => n.name === ref) ?? nodes.find((n) => n.id === ref);
  if (found) return found;
  const known = nodes.map((n) => n.name).join(', ');
  throw new CliUsageError(
    `No node "${ref}" (${known ? `known: ${known}` : 'there is none yet'}; see \`marina nodes ls\`).`,
  );
}

function printNode(node: Node): void {
  const parts = [
    node.role,
    stateOf(node),
    node.availability,
    node.address,
    node.dedicatedTo.length > 0 ? `kept for ${node.dedicatedTo.join(', ')}` : undefined,
  ].filter(Boolean);
  console.log(`${node.name} (${node.dockerHost}): ${parts.join(', ')}`);
}

interface AddOptions extends TlsOptions, SshOptions {
  dockerHost: string;
  role?: 'manager' | 'worker';
  address?: string;
  dedicatedTo?: string[];
  json?: boolean;
}

function placementLines(request: string, placement: Placement): string[] {
  if (placement.ok) return [`An instance of ${request} would go on ${placement.reason ?? placement.name}.`];
  const lines = [placement.message ?? `No node can take an instance of ${request}.`];
  if (placement.rejected && placement.rejected.length > 0)
    lines.push('', table(placement.rejected, ['name', 'reason']));
  return lines;
}

export function registerNodeCommands(program: Command, client: () => Promise<MarinaClient>): void {
  const nodes = program.command('nodes').description("the cluster's hosts: Swarm nodes (platform admins)");

  nodes
    .command('ls')
    .description('the hosts with their Swarm state, capacity, what their instances are guaranteed')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { json?: boolean }) => {
      const c = await client();
      const rows = await listNodes(c);
      if (opts.json) return printJson(rows);
      console.log(table(nodeRows(rows), NODE_COLUMNS));
    });

  nodes
    .command('add <name>')
    .description(
      'add a host whose Docker engine listens on TCP with mutual TLS or is reached over SSH: the first becomes the Swarm manager, the others join',
    )
    .requiredOption(
      '--docker-host <url>',
      'its engine: tcp://<address>:2376 (mutual TLS) or ssh://<user>@<address>[:<port>] (a user allowed to run docker)',
    )
    .optionsGroup('For tcp:// (mutual TLS):')
    .option('--tls-dir <dir>', "a folder with ca.pem, cert.pem and key.pem (as Docker's DOCKER_CERT_PATH)")
    .option('--ca <file>', 'the CA certificate (PEM) that signed the engine’s (instead of <dir>/ca.pem)')
    .option('--cert <file>', 'the client certificate (PEM) (instead of <dir>/cert.pem)')
    .option('--key <file>', 'the client certificate’s private key (PEM) (instead of <dir>/key.pem)')
    .optionsGroup('For ssh://:')
    .option(
      '--ssh-key <file>',
      'Marina’s private key, without a passphrase (its public half in the user’s authorized_keys)',
    )
    .option('--host-key <fingerprint>', `the host key’s fingerprint, SHA256:…, ${HOST_KEY_HOW}`)
    .optionsGroup('Options:')
    .addOption(
      new Option('--role <role>', 'manager or worker (default: worker; the first node is the manager)').choices([
        'manager',
        'worker',
      ]),
    )
    .option('--address <address>', "its address in the cluster (default: the engine's)")
    .option('--dedicated-to <plans>', 'keep it for these plans (slugs, comma separated)', plans)
    .option('--json', 'print JSON for scripts')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  marina nodes add node1 --docker-host tcp://10.0.0.11:2376 --tls-dir ./certs',
        '  marina nodes add node2 --docker-host ssh://marina@10.0.0.12 --ssh-key ./marina_key \\',
        '    --host-key SHA256:…   # ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host',
      ].join('\n'),
    )
    .action(async (name: string, opts: AddOptions) => {
      // The files are read and checked before Marina is asked anything.
      const access = await readAccess(opts.dockerHost, opts);
      const c = await client();
      const { node } = await c.call(
        c.api.POST('/api/v1/nodes', {
          body: {
            name,
            dockerHost: opts.dockerHost,
            ...access,
            address: opts.address,
            role: opts.role,
            dedicatedTo: opts.dedicatedTo,
          },
        }),
      );
      if (opts.json) return printJson(node);
      console.log(`Added node ${node.name}.`);
      printNode(node);
    });

  registerNodeDrainCommand(nodes, client, resolveNode);

  nodes
    .command('activate <name>')
    .description('let a drained node take instances again')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const c = await client();
      const found = await resolveNode(c, ref);
      const { node } = await c.call(c.api.POST('/api/v1/nodes/{id}/activate', { params: { path: { id: found.id } } }));
      if (opts.json) return printJson(node);
      console.log(`${node.name} is active: it takes new instances again.`);
    });

  nodes
    .command('rm <name>')
    .description('remove a node without instances: it leaves the Swarm and Marina forgets it')
    .option('-y, --yes', 'do not ask')
    .action(async (ref: string, opts: { yes?: boolean }) => {
      const c = await client();
      const node = await resolveNode(c, ref);
      if (!opts.yes) {
        const { confirm } = await import('./prompt.js');
        const ok = await confirm(
          `Remove the node ${node.name} (${node.role}, ${node.dockerHost})? It leaves the Swarm and Marina forgets it.`,
        );
        if (!ok) throw new CliUsageError('Not removed (pass --yes when there is no terminal to ask on).');
      }
      await c.call(c.api.DELETE('/api/v1/nodes/{id}', { params: { path: { id: node.id } } }));
      console.log(`Removed node ${node.name}.`);
    });

  nodes
    .command('placement')
    .description('where a new instance of this size would go now, or why no node can take it')
    .requiredOption('--memory-mb <mb>', 'its memory limit in MB', (v) => whole(v, '--memory-mb'))
    .requiredOption('--cpus <cpus>', 'its CPU limit, e.g. 1.5', (v) => positive(v, '--cpus'))
    .requiredOption('--organization <organization>', 'its organization (slug or id)')
    .addOption(
      new Option('--stage <stage>', 'its stage')
        .choices(['production', 'staging', 'development'])
        .default('production'),
    )
    .option('--plan <plan>', 'its plan (slug), for nodes kept for plans')
    .option('--json', 'print JSON for scripts')
    .action(
      async (opts: {
        memoryMb: number;
        cpus: number;
        organization: string;
        stage: 'production' | 'staging' | 'development';
        plan?: string;
        json?: boolean;
      }) => {
        const c = await client();
        const organization = await organizationId(c, opts.organization);
        const { placement } = await c.call(
          c.api.GET('/api/v1/nodes/placement', {
            params: {
              query: {
                memoryMb: opts.memoryMb,
                cpus: opts.cpus,
                organization,
                stage: opts.stage,
                plan: opts.plan,
              },
            },
          }),
        );
        if (opts.json) printJson(placement);
        else
          for (const line of placementLines(`${opts.memoryMb} MB and ${cpus(opts.cpus)} (${opts.stage})`, placement))
            console.log(line);
        // Scripts can tell: no node can take it is exit code 1.
        if (!placement.ok) throw new CliError('No node can take this instance now.', exitCodes.error);
      },
    );
}

function whole(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliUsageError(`${option}: "${value}" is not a whole number of MB.`);
  return n;
}

function positive(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliUsageError(`${option}: "${value}" is not a number above 0.`);
  return n;
}
