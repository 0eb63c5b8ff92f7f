import { isIP } from 'node:net';
import { parseTsigKey, type TsigKey } from './adapters/dns/tsig.js';
import { integer } from './config-parse.js';

/**
 * The edge's settings (reverse proxy, TLS, custom domains): read and checked only when
 * MARINA_BASE_DOMAIN turns the edge on. Split from config.ts, which reads everything else.
 */

/** What the edge needs: see src/modules/edge/ and the README's "The edge" table. */
export interface EdgeConfig {
  /** Instances get `<platform name>.<baseDomain>` (lower case, no trailing dot). */
  baseDomain: string;
  /** Labels `{instance}`, `{project}`, `{org}` and literal `a-z0-9-`; the result is one DNS label. */
  namePattern: string;
  /** Where Marina reaches Caddy's admin API: the operator's (MARINA_CADDY_ADMIN_URL), or the managed proxy's. */
  caddyAdminUrl: string;
  /**
   * Caddy run by Marina in a container on this host (MARINA_CADDY_ADMIN_URL unset), its admin API
   * on 127.0.0.1:adminPort; undefined when the operator runs Caddy.
   */
  managedProxy: { image: string; adminPort: number } | undefined;
  httpPort: number;
  httpsPort: number;
  /** Marina's edge DNS on 127.0.0.1 (UDP and TCP); 0 picks a free port at start. */
  dnsPort: number;
  /** Where Marina receives the proxy's access log (UDP on 127.0.0.1), for request metrics; 0 picks a free port at start. */
  accessLogPort: number;
  acme: { ca: string | undefined; email: string | undefined; caRootsFile: string | undefined };
  /** The proxy's public addresses (apex domains point A/AAAA records here). */
  addresses: string[];
  /** The DNS server domain verification asks (undefined: the system's). */
  dnsResolver: { host: string; port: number } | undefined;
  /** An operator-provided certificate for `*.<baseDomain>` (PEM files). */
  wildcard: { certFile: string; keyFile: string } | undefined;
  /** Marina obtains `*.<baseDomain>` itself from the ACME CA, answering DNS-01 in this zone (src/modules/edge/wildcard/). */
  wildcardDns01: WildcardDns01 | undefined;
  /** Largest request body (MiB) an instance accepts through the proxy; plans (#19) will set it per instance. */
  maxUploadMb: number;
}

/** DNS-01 through RFC 2136 dynamic updates signed with TSIG, sent to the zone's primary server. */
export interface WildcardDns01 {
  provider: 'rfc2136';
  server: { host: string; port: number };
  /** The zone `_acme-challenge.<baseDomain>` is written in: the base domain or a parent of it. */
  zone: string;
  key: TsigKey;
}

type Source = Record<string, string | undefined>;

interface Field<T> {
  env: string;
  describe: string;
  parse: (raw: string) => T | undefined;
}

/** config.ts's reader: the value, the fallback when unset, and a problem noted when malformed. */
export interface FieldReader {
  <T>(field: Field<T>, fallback: T): T;
  <T>(field: Field<T>, fallback: undefined): T | undefined;
}

const httpUrl = (raw: string) => {
  try {
    const url = new URL(raw.trim());
    return ['http:', 'https:'].includes(url.protocol) && !url.search && !url.hash
      ? url.toString().replace(/\/$/, '')
      : undefined;
  } catch {
    return undefined;
  }
};
/** A Docker image reference: name, optional tag, optional digest (config.ts's images too). */
export const imageRef = (raw: string) =>
  /^[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/.test(raw.trim())
    ? raw.trim()
    : undefined;
const path = (raw: string) => (raw.trim() !== '' && !raw.includes('\0') ? raw.trim() : undefined);
/** A DNS name of at least two labels, in lower case (the platform's base domain). */
const baseDomain = (raw: string) => {
  const value = raw.trim().toLowerCase().replace(/\.$/, '');
  const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
  const labels = value.split('.');
  return value.length <= 200 && labels.length >= 2 && labels.every((l) => label.test(l)) && isIP(value) === 0
    ? value
    : undefined;
};
/** Tokens {instance}, {project}, {org} between literal lower-case letters, digits and dashes; {instance} required. */
const namePattern = (raw: string) => {
  const value = raw.trim();
  return /^(?:[a-z0-9-]|\{(?:instance|project|org)\})+$/.test(value) && value.includes('{instance}')
    ? value
    : undefined;
};
const emailAddress = (raw: string) => (/^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/.test(raw.trim()) ? raw.trim() : undefined);
const addressList = (raw: string) => {
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  return entries.length > 0 && entries.every((e) => isIP(e) !== 0) ? entries : undefined;
};
/** host:port, [v6]:port or a bare address (port 53). */
const resolverAddress = (raw: string) => {
  const value = raw.trim();
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(value) ?? /^([0-9a-fA-F:]+)$/.exec(value);
  if (!match) return undefined;
  const host = match[1] ?? match[2] ?? '';
  const port = match[3] === undefined ? 53 : Number(match[3]);
  return isIP(host) !== 0 && port >= 1 && port <= 65535 ? { host, port } : undefined;
};

export const edgeFields = {
  baseDomain: {
    env: 'MARINA_BASE_DOMAIN',
    describe: 'a DNS name of at least two labels, such as apps.example.com (setting it turns the edge on)',
    parse: baseDomain,
  },
  edgeNamePattern: {
    env: 'MARINA_EDGE_NAME_PATTERN',
    describe:
      'lower-case letters, digits, dashes and the labels {instance}, {project}, {org}, with {instance} in it (e.g. {instance}-{project}-{org})',
    parse: namePattern,
  },
  caddyAdminUrl: {
    env: 'MARINA_CADDY_ADMIN_URL',
    describe: "an http URL of Caddy's admin API, such as http://127.0.0.1:2019",
    parse: httpUrl,
  },
  caddyImage: {
    env: 'MARINA_CADDY_IMAGE',
    describe: "a Docker image reference following the official caddy image's contract, such as caddy:2",
    parse: imageRef,
  },
  caddyAdminPort: {
    env: 'MARINA_CADDY_ADMIN_PORT',
    describe: 'an integer from 1 to 65535',
    parse: integer(1, 65535),
  },
  edgeHttpPort: { env: 'MARINA_EDGE_HTTP_PORT', describe: 'an integer from 1 to 65535', parse: integer(1, 65535) },
  edgeHttpsPort: { env: 'MARINA_EDGE_HTTPS_PORT', describe: 'an integer from 1 to 65535', parse: integer(1, 65535) },
  edgeDnsPort: {
    env: 'MARINA_EDGE_DNS_PORT',
    describe: 'an integer from 0 to 65535 (0 picks a free port)',
    parse: integer(0, 65535),
  },
  edgeAccessLogPort: {
    env: 'MARINA_EDGE_ACCESS_LOG_PORT',
    describe: 'an integer from 0 to 65535 (0 picks a free port)',
    parse: integer(0, 65535),
  },
  acmeCa: {
    env: 'MARINA_ACME_CA',
    describe:
      "the https URL of an ACME directory, such as https://acme-v02.api.letsencrypt.org/directory, or internal (Caddy's own local CA, for development)",
    parse: (raw: string) => (raw.trim().toLowerCase() === 'internal' ? 'internal' : httpUrl(raw)),
  },
  acmeEmail: { env: 'MARINA_ACME_EMAIL', describe: 'an email address', parse: emailAddress },
  acmeCaRoots: {
    env: 'MARINA_ACME_CA_ROOTS',
    describe: "the path of a PEM file of the CA that signs the ACME server's own HTTPS certificate",
    parse: path,
  },
  edgeAddresses: {
    env: 'MARINA_EDGE_ADDRESSES',
    describe: "a comma-separated list of the proxy's public IPv4/IPv6 addresses",
    parse: addressList,
  },
  dnsResolver: {
    env: 'MARINA_DNS_RESOLVER',
    describe: 'a DNS server address with an optional port, such as 10.0.0.2:53 or [::1]:5353',
    parse: resolverAddress,
  },
  edgeWildcardCert: {
    env: 'MARINA_EDGE_WILDCARD_CERT',
    describe: 'the path of a PEM certificate for *.<MARINA_BASE_DOMAIN>',
    parse: path,
  },
  edgeWildcardKey: {
    env: 'MARINA_EDGE_WILDCARD_KEY',
    describe: "the path of the wildcard certificate's PEM private key",
    parse: path,
  },
  edgeWildcardDns01: {
    env: 'MARINA_EDGE_WILDCARD_DNS01',
    describe: 'rfc2136 (Marina obtains the wildcard certificate itself through DNS-01, by dynamic DNS updates)',
    parse: (raw: string) => (raw.trim().toLowerCase() === 'rfc2136' ? ('rfc2136' as const) : undefined),
  },
  edgeDns01Server: {
    env: 'MARINA_EDGE_DNS01_SERVER',
    describe: "the IP address and optional port of the zone's primary DNS server, such as 192.0.2.53:53",
    parse: resolverAddress,
  },
  edgeDns01Zone: {
    env: 'MARINA_EDGE_DNS01_ZONE',
    describe: 'a DNS zone: MARINA_BASE_DOMAIN or a parent of it',
    parse: baseDomain,
  },
  edgeDns01Tsig: {
    env: 'MARINA_EDGE_DNS01_TSIG',
    describe:
      'a TSIG key as <key name>:<hmac-sha256|hmac-sha512>:<base64 secret of at least 16 bytes>, allowed to update the zone',
    parse: parseTsigKey,
  },
  edgeMaxUploadMb: {
    env: 'MARINA_EDGE_MAX_UPLOAD_MB',
    describe: 'an integer from 1 to 1048576 (MiB)',
    parse: integer(1, 1024 * 1024),
  },
} satisfies Record<string, Field<unknown>>;

export function readEdgeConfig(read: FieldReader, source: Source, problems: string[]): EdgeConfig | undefined {
  const edgeOnly = [
    edgeFields.edgeNamePattern,
    edgeFields.caddyAdminUrl,
    edgeFields.caddyImage,
    edgeFields.caddyAdminPort,
    edgeFields.edgeHttpPort,
    edgeFields.edgeHttpsPort,
    edgeFields.edgeDnsPort,
    edgeFields.edgeAccessLogPort,
    edgeFields.acmeCa,
    edgeFields.acmeEmail,
    edgeFields.acmeCaRoots,
    edgeFields.edgeAddresses,
    edgeFields.edgeWildcardCert,
    edgeFields.edgeWildcardKey,
    edgeFields.edgeMaxUploadMb,
    ...dns01Fields,
  ];
  const domain = read(edgeFields.baseDomain, undefined);
  if (domain === undefined) {
    const stray = edgeOnly.filter((f) => (source[f.env] ?? '').trim() !== '').map((f) => f.env);
    if (stray.length > 0 && (source[edgeFields.baseDomain.env] ?? '').trim() === '')
      problems.push(`${stray.join(', ')}: set MARINA_BASE_DOMAIN too (the edge is off without it)`);
    return undefined;
  }
  const certFile = read(edgeFields.edgeWildcardCert, undefined);
  const keyFile = read(edgeFields.edgeWildcardKey, undefined);
  if ((certFile === undefined) !== (keyFile === undefined))
    problems.push('MARINA_EDGE_WILDCARD_CERT and MARINA_EDGE_WILDCARD_KEY: set both or neither');
  const acmeCa = read(edgeFields.acmeCa, undefined);
  const wildcardDns01 = readWildcardDns01(read, source, problems, domain);
  if (wildcardDns01 && certFile !== undefined)
    problems.push(
      'MARINA_EDGE_WILDCARD_DNS01 and MARINA_EDGE_WILDCARD_CERT/KEY: choose one (Marina obtains the wildcard, or the operator provides it)',
    );
  if (wildcardDns01 && acmeCa === 'internal')
    problems.push("MARINA_EDGE_WILDCARD_DNS01: needs an ACME CA (MARINA_ACME_CA=internal is the proxy's own)");
  const httpPort = read(edgeFields.edgeHttpPort, 80);
  const httpsPort = read(edgeFields.edgeHttpsPort, 443);
  if (httpPort === httpsPort) problems.push('MARINA_EDGE_HTTP_PORT and MARINA_EDGE_HTTPS_PORT: must differ');
  const operatorAdminUrl = read(edgeFields.caddyAdminUrl, undefined);
  const managedOnly = [edgeFields.caddyImage, edgeFields.caddyAdminPort].filter(
    (f) => (source[f.env] ?? '').trim() !== '',
  );
  if (operatorAdminUrl !== undefined && managedOnly.length > 0)
    problems.push(
      `${managedOnly.map((f) => f.env).join(', ')}: only for the proxy Marina runs itself; unset them or MARINA_CADDY_ADMIN_URL`,
    );
  const adminPort = read(edgeFields.caddyAdminPort, 2019);
  const managedProxy =
    operatorAdminUrl === undefined ? { image: read(edgeFields.caddyImage, 'caddy:2'), adminPort } : undefined;
  return {
    baseDomain: domain,
    namePattern: read(edgeFields.edgeNamePattern, '{instance}-{project}-{org}'),
    caddyAdminUrl: operatorAdminUrl ?? `http://127.0.0.1:${adminPort}`,
    managedProxy,
    httpPort,
    httpsPort,
    dnsPort: read(edgeFields.edgeDnsPort, 0),
    accessLogPort: read(edgeFields.edgeAccessLogPort, 0),
    acme: {
      ca: acmeCa,
      email: read(edgeFields.acmeEmail, undefined),
      caRootsFile: read(edgeFields.acmeCaRoots, undefined),
    },
    addresses: read(edgeFields.edgeAddresses, []),
    dnsResolver: read(edgeFields.dnsResolver, undefined),
    wildcard: certFile && keyFile ? { certFile, keyFile } : undefined,
    wildcardDns01,
    maxUploadMb: read(edgeFields.edgeMaxUploadMb, 1024),
  };
}

const dns01Fields = [
  edgeFields.edgeWildcardDns01,
  edgeFields.edgeDns01Server,
  edgeFields.edgeDns01Zone,
  edgeFields.edgeDns01Tsig,
];

/** MARINA_EDGE_WILDCARD_DNS01 and what it needs; its details alone are a mistake worth saying. */
function readWildcardDns01(
  read: FieldReader,
  source: Source,
  problems: string[],
  domain: string,
): WildcardDns01 | undefined {
  const provider = read(edgeFields.edgeWildcardDns01, undefined);
  if (provider === undefined) {
    const stray = dns01Fields.slice(1).filter((f) => (source[f.env] ?? '').trim() !== '');
    if (stray.length > 0 && (source[edgeFields.edgeWildcardDns01.env] ?? '').trim() === '')
      problems.push(`${stray.map((f) => f.env).join(', ')}: set MARINA_EDGE_WILDCARD_DNS01=rfc2136 too`);
    return undefined;
  }
  const server = read(edgeFields.edgeDns01Server, undefined);
  // Read here, not by `read`: a malformed value would be quoted in the error, secret and all.
  const rawKey = source[edgeFields.edgeDns01Tsig.env] ?? '';
  const key = rawKey.trim() === '' ? undefined : parseTsigKey(rawKey);
  if (rawKey.trim() !== '' && key === undefined)
    problems.push(
      `${edgeFields.edgeDns01Tsig.env}: expected ${edgeFields.edgeDns01Tsig.describe} (the value is not shown: it holds a secret)`,
    );
  const zone = read(edgeFields.edgeDns01Zone, domain);
  const missing = [edgeFields.edgeDns01Server, edgeFields.edgeDns01Tsig].filter(
    (f) => (source[f.env] ?? '').trim() === '',
  );
  if (missing.length > 0)
    problems.push(`MARINA_EDGE_WILDCARD_DNS01=rfc2136 needs ${missing.map((f) => f.env).join(' and ')}`);
  if (zone !== domain && !domain.endsWith(`.${zone}`))
    problems.push(`MARINA_EDGE_DNS01_ZONE: ${zone} does not contain MARINA_BASE_DOMAIN (${domain})`);
  if (!server || !key) return undefined;
  return { provider, server, zone, key };
}
