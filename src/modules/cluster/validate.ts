import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { fail } from '../../platform/errors.js';
import type { RuntimeTls } from '../../runtime/port.js';

/** What a platform admin gives to add a host. */
export interface AddHostInput {
  name: string;
  /** `tcp://<address>:<port>` of an engine that requires mutual TLS. */
  dockerHost: string;
  tls: RuntimeTls;
  /** The node's address for the Swarm (where other nodes reach it); default: the engine's address. */
  address?: string;
  role?: 'manager' | 'worker';
  dedicatedTo?: string[];
}

const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
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

/** Only TCP with mutual TLS: a plain TCP engine is root on the host for anyone who reaches the port. */
export function requireEngineUrl(dockerHost: string): { host: string; port: number } {
  if (dockerHost.startsWith('ssh://'))
    invalid(
      'Engines over SSH are not supported yet: expose the engine on TCP with mutual TLS (dockerd --tlsverify) and give its certificates.',
    );
  let url: URL;
  try {
    url = new URL(dockerHost);
  } catch {
    return invalid(`"${dockerHost}" is not an address: use tcp://<address>:2376.`);
  }
  if (url.protocol !== 'tcp:' || url.pathname !== '' || url.username || url.search)
    invalid(`"${dockerHost}" is not an engine address: use tcp://<address>:<port> (mutual TLS).`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!isIP(host) && !HOSTNAME.test(host)) invalid(`"${host}" is neither an IP address nor a host name.`);
  const port = Number(url.port || 2376);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) invalid('The port is 1 to 65535.');
  return { host, port };
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
