import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { HOST_KEY_FINGERPRINT } from '../../adapters/ssh/fingerprint.js';
import { fail } from '../../platform/errors.js';
import { patterns } from '../../platform/validation.js';
import type { RuntimeAccess, RuntimeSsh, RuntimeTls } from '../../runtime/port.js';

/** What a platform admin gives to add a host. */
export interface AddHostInput {
  name: string;
  /** `tcp://<address>:<port>` of an engine that requires mutual TLS, or `ssh://<user>@<address>[:port]`. */
  dockerHost: string;
  /** For `tcp://`. */
  tls?: RuntimeTls;
  /** For `ssh://`. */
  ssh?: RuntimeSsh;
  /** The node's address for the Swarm (where other nodes reach it); default: the engine's address. */
  address?: string;
  role?: 'manager' | 'worker';
  dedicatedTo?: string[];
}

const NAME = new RegExp(patterns.nodeName);
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const PLAN_SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PEM_CERT = /^-----BEGIN CERTIFICATE-----\r?\n[\s\S]+-----END CERTIFICATE-----\s*$/;
const PEM_KEY = /^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----\r?\n[\s\S]+-----END ([A-Z]+ )?PRIVATE KEY-----\s*$/;
const MAX_PEM = 64 * 1024;

const invalid = (message: string): never => fail('MARINA_E_VALIDATION', message);

/** A host's name: its id too, in labels and paths. `local` is the engine Marina started on. */
export function requireNodeName(name: string): string {
  if (!NAME.test(name)) invalid('The name is 1 to 40 of a-z, 0-9 and "-", starting with a letter or digit.');
  if (name === 'local') invalid('"local" is the engine Marina started on: pick another name.');
  return name;
}

/**
 * TCP with mutual TLS, or SSH: a plain TCP engine is root on the host for anyone who reaches the
 * port, and a socket is this machine's own engine.
 */
export function requireEngineUrl(dockerHost: string): { host: string; port: number; kind: 'tls' | 'ssh' } {
  let url: URL;
  try {
    url = new URL(dockerHost);
  } catch {
    return invalid(`"${dockerHost}" is not an address: use tcp://<address>:2376 or ssh://<user>@<address>.`);
  }
  const ssh = url.protocol === 'ssh:';
  if ((url.protocol !== 'tcp:' && !ssh) || url.pathname !== '' || url.search || url.hash || url.password)
    invalid(
      `"${dockerHost}" is not an engine address: use tcp://<address>:<port> (mutual TLS) or ssh://<user>@<address>[:<port>].`,
    );
  if (ssh && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/.test(url.username))
    invalid('An SSH address names its user: ssh://<user>@<address> (letters, digits, _ . and -).');
  if (!ssh && url.username) invalid(`"${dockerHost}" is not an engine address: a TCP address has no user.`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!isIP(host) && !HOSTNAME.test(host)) invalid(`"${host}" is neither an IP address nor a host name.`);
  const port = Number(url.port || (ssh ? 22 : 2376));
  if (!Number.isInteger(port) || port < 1 || port > 65_535) invalid('The port is 1 to 65535.');
  return { host, port, kind: ssh ? 'ssh' : 'tls' };
}

/** The material that goes with the address: certificates for TCP, a key and a pinned host key for SSH. */
export function requireAccess(kind: 'tls' | 'ssh', input: Pick<AddHostInput, 'tls' | 'ssh'>): RuntimeAccess {
  if (kind === 'tls') {
    if (input.ssh) invalid('A tcp:// engine takes tls (certificates), not ssh.');
    if (!input.tls) return invalid('A tcp:// engine needs tls: the CA, Marina’s client certificate and its key.');
    return requireTls(input.tls);
  }
  if (input.tls) invalid('An ssh:// engine takes ssh (a private key and the host key’s fingerprint), not tls.');
  if (!input.ssh) return invalid('An ssh:// engine needs ssh: a private key and the host key’s fingerprint.');
  return requireSsh(input.ssh);
}

export function requireSsh(ssh: RuntimeSsh): RuntimeSsh {
  if (typeof ssh.privateKey !== 'string' || ssh.privateKey.length > MAX_PEM)
    invalid('ssh.privateKey is missing or longer than 64 KB.');
  if (!PEM_KEY.test(ssh.privateKey.trim()))
    invalid('ssh.privateKey is not a private key (-----BEGIN OPENSSH PRIVATE KEY----- …), or it is encrypted.');
  if (/ENCRYPTED|Proc-Type: 4,ENCRYPTED/.test(ssh.privateKey))
    invalid('ssh.privateKey is encrypted: give a key without a passphrase, kept for Marina alone.');
  if (typeof ssh.hostKeyFingerprint !== 'string' || !HOST_KEY_FINGERPRINT.test(ssh.hostKeyFingerprint))
    invalid(
      'ssh.hostKeyFingerprint is SHA256:… as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it on the host.',
    );
  return { privateKey: ssh.privateKey, hostKeyFingerprint: ssh.hostKeyFingerprint };
}

export function requireTls(tls: RuntimeTls): RuntimeTls {
  for (const [field, text] of Object.entries(tls))
    if (typeof text !== 'string' || text.length > MAX_PEM) invalid(`tls.${field} is missing or longer than 64 KB.`);
  if (!PEM_CERT.test(tls.ca.trim())) invalid('tls.ca is not a PEM certificate (the CA that signed the engine’s).');
  if (!PEM_CERT.test(tls.cert.trim())) invalid('tls.cert is not a PEM certificate (Marina’s client certificate).');
  if (!PEM_KEY.test(tls.key.trim())) invalid('tls.key is not a PEM private key (of the client certificate).');
  return tls;
}

export function requireDedicatedTo(plans: string[] | undefined): string[] {
  const list = [...new Set(plans ?? [])];
  if (list.length > 20) invalid('A node is kept for at most 20 plans.');
  for (const slug of list) if (!PLAN_SLUG.test(slug)) invalid(`"${slug}" is not a plan slug.`);
  return list;
}

/** Swarm advertises an IP address: a name is resolved once, here. */
export async function advertiseAddress(given: string | undefined, engineHost: string): Promise<string> {
  const candidate = given ?? engineHost;
  if (isIP(candidate)) return candidate;
  if (!HOSTNAME.test(candidate)) return invalid(`"${candidate}" is neither an IP address nor a host name.`);
  try {
    return (await lookup(candidate)).address;
  } catch {
    return invalid(`"${candidate}" does not resolve to an address.`);
  }
}
