import { EDGE_INSTANCE_PORT } from './allocation.js';
import { EDGE_ZONE, ODOO_ZONE } from './edge-dns.js';
import { MAINTENANCE_PAGE, NO_SITE_PAGE, suspendedPage } from './pages.js';

/**
 * The edge's whole state → Caddy's JSON configuration (Caddy 2.6), pure. The shape makes the
 * frequent changes (a domain added or removed, an instance stopped or started) change nothing in
 * Caddy: the public server finds an instance through Marina's DNS, and each instance's own server
 * answers the maintenance page whenever Odoo does not. Checked against Debian's Caddy 2.6 (caddy-config.test.ts).
 */

export interface EdgeInstanceState {
  id: string;
  /** Where the proxy's server for this instance listens (127.77.x.y). */
  edgeIp: string;
  production: boolean;
  /** Odoo 15.0 and older answer /longpolling on the gevent port too. */
  longpolling: boolean;
  platformHostname: string;
  /** The primary custom domain, when one is chosen; every other name redirects to it. */
  primaryHostname: string | null;
  /** Odoo's HTTP port: `host:port` where it is published, or its container found by name. */
  httpUpstream: string | NamedUpstream;
  /** Odoo's gevent port (websocket), when the instance has workers: as `httpUpstream`. */
  geventUpstream: string | NamedUpstream | null;
  protection: { kind: 'basic'; username: string; passwordHash: string } | { kind: 'allow'; addresses: string[] } | null;
  /** Largest request body, in bytes, the proxy lets through to this instance (Odoo's own limits apply below it). */
  maxRequestBodyBytes: number;
  /** Its organization is suspended (#19): every request gets the page that says why, Odoo none. */
  suspended?: 'trial_ended' | 'suspended' | null;
}

/**
 * An unpublished container, found at each refresh by a name of Marina's DNS (the Odoo zone): its
 * address changes when it is made again, so the configuration holds the name, never the address.
 */
export interface NamedUpstream {
  /** The instance's label in the Odoo zone (its id without dashes). */
  label: string;
  port: number;
}

export interface EdgeState {
  /** Caddy's admin address (`host:port`): kept, or a `/load` would move it to Caddy's default. */
  adminListen: string;
  httpPort: number;
  httpsPort: number;
  dnsPort: number;
  /** Marina's `GET /api/v1/edge/ask` (on-demand TLS: a certificate only for a routed name). */
  askUrl: string;
  /** `internal`: Caddy's own local CA (development); else an ACME directory (default Let's Encrypt). */
  acme: { ca: string | undefined; email: string | undefined; caRootsFile: string | undefined };
  /**
   * The certificate for `*.<base domain>`: the operator's files, or the one Marina obtained through
   * DNS-01 (PEM, key opened), loaded from memory so a renewed certificate is one load.
   */
  wildcard: { certFile: string; keyFile: string } | { certificatePem: string; keyPem: string } | undefined;
  /** Certificates organizations uploaded for their domains (PEM, key opened). */
  certificates: { hostname: string; certificatePem: string; keyPem: string }[];
  instances: EdgeInstanceState[];
  /** Where owners sign in (MARINA_PUBLIC_URL), said on a suspended site's page. */
  signInUrl?: string;
  /** Where the instances' access logs go (`udp/127.0.0.1:<port>`, Marina's listener); none when unset. */
  accessLogAddress?: string | undefined;
}

/** How long Caddy keeps a container's address: a container made again is reached after at most this. */
export const ODOO_ADDRESS_REFRESH = '3s';
/** Retry-After of the maintenance page, in seconds. */
export const MAINTENANCE_RETRY_SECONDS = 30;

export const PUBLIC_SERVER = 'edge_public';
export const REDIRECT_SERVER = 'edge_public_http';
export const instanceServerName = (id: string) => `inst_${id.replace(/-/g, '')}`;
/** Caddy's access loggers (`http.log.access.<server>`), and Marina's log of them. */
const ACCESS_LOGGERS = 'http.log.access';
const ACCESS_LOG = 'marina_access';

const TOO_LARGE = 'The request is too large.';
const html = { 'Content-Type': ['text/html; charset=utf-8'], 'Cache-Control': ['no-store'] };

function issuer(acme: EdgeState['acme']) {
  if (acme.ca === 'internal') return { module: 'internal' };
  return {
    module: 'acme',
    ...(acme.ca ? { ca: acme.ca } : {}),
    ...(acme.email ? { email: acme.email } : {}),
    ...(acme.caRootsFile ? { trusted_roots_pem_files: [acme.caRootsFile] } : {}),
  };
}

/** Every name reaches the instance behind it through Marina's DNS: no per-name route to change. */
function publicServer(state: EdgeState) {
  return {
    listen: [`:${state.httpsPort}`],
    strict_sni_host: true,
    tls_connection_policies: [{}],
    // Port 80 is the redirect server's, which Marina writes itself.
    automatic_https: { disable_redirects: true },
    routes: [
      {
        handle: [
          {
            handler: 'reverse_proxy',
            dynamic_upstreams: {
              source: 'a',
              name: `{http.request.host}.${EDGE_ZONE}.`,
              port: String(EDGE_INSTANCE_PORT),
              refresh: '30s',
              resolver: { addresses: [`udp/127.0.0.1:${state.dnsPort}`] },
              dial_timeout: '2s',
            },
            transport: { protocol: 'http', dial_timeout: '2s' },
            // No trusted_proxies: Caddy replaces whatever X-Forwarded-* a client sent.
          },
        ],
      },
    ],
    // Resolving a name Marina does not route fails: that is the only error this hop makes.
    errors: {
      routes: [{ handle: [{ handler: 'static_response', status_code: 404, headers: html, body: NO_SITE_PAGE }] }],
    },
  };
}

/** Port 80: ACME HTTP-01 challenges (every Caddy server answers them first), everything else → HTTPS. */
function redirectServer(state: EdgeState) {
  const port = state.httpsPort === 443 ? '' : `:${state.httpsPort}`;
  return {
    listen: [`:${state.httpPort}`],
    automatic_https: { disable: true },
    routes: [
      {
        handle: [
          {
            handler: 'static_response',
            status_code: 308,
            headers: { Location: [`https://{http.request.host}${port}{http.request.uri}`] },
          },
        ],
      },
    ],
  };
}

/**
 * A body announced larger than the instance's limit is refused before any of it is read. Caddy 2.6
 * turns a body cut short by `request_body` into a 502 when Content-Length was given (the 413 only
 * survives for chunked bodies), which the error routes would show as the maintenance page.
 */
function bodyLimitRoute(instance: EdgeInstanceState) {
  const length = '{http.request.header.Content-Length}';
  return {
    match: [{ expression: `${length} != '' && int(${length}) > ${instance.maxRequestBodyBytes}` }],
    handle: [{ handler: 'static_response', status_code: 413, body: TOO_LARGE, close: true }],
    terminal: true,
  };
}

/** A fixed published port, or the container's current address asked of Marina's DNS at each refresh. */
function upstreamsOf(target: string | NamedUpstream, state: EdgeState) {
  if (typeof target === 'string') return { upstreams: [{ dial: target }] };
  return {
    // No answer (the container does not run): no upstream, a 503 error, the maintenance page.
    dynamic_upstreams: {
      source: 'a',
      name: `${target.label}.${ODOO_ZONE}.`,
      port: String(target.port),
      refresh: ODOO_ADDRESS_REFRESH,
      resolver: { addresses: [`udp/127.0.0.1:${state.dnsPort}`] },
      dial_timeout: '2s',
    },
  };
}

function upstream(target: string | NamedUpstream, state: EdgeState, options: { longReads: boolean }) {
  return {
    handler: 'reverse_proxy',
    ...upstreamsOf(target, state),
    // The public hop (on loopback) set X-Forwarded-*: they pass on to Odoo (Caddy 2.6 keeps this per handler).
    trusted_proxies: ['127.0.0.0/8'],
    transport: {
      protocol: 'http',
      dial_timeout: '3s',
      // Reports and exports may think for minutes before their first byte.
      ...(options.longReads ? { response_header_timeout: '900s' } : {}),
    },
  };
}

/** The proxy's own server for one instance, on its edge address: headers, access, redirects, Odoo. */
function instanceServer(instance: EdgeInstanceState, state: EdgeState) {
  const port = state.httpsPort === 443 ? '' : `:${state.httpsPort}`;
  const primary = instance.primaryHostname ?? instance.platformHostname;
  const routes: unknown[] = [];
  if (instance.suspended) {
    // First and terminal: nothing reaches Odoo (stopped anyway) while the organization is suspended.
    routes.push({
      handle: [
        {
          handler: 'static_response',
          status_code: 503,
          headers: { ...html, 'X-Robots-Tag': ['noindex, nofollow'] },
          body: suspendedPage(instance.suspended, state.signInUrl),
        },
      ],
      terminal: true,
    });
  }
  if (!instance.production) {
    routes.push({
      handle: [{ handler: 'headers', response: { set: { 'X-Robots-Tag': ['noindex, nofollow'] } } }],
    });
  }
  // One canonical name: Odoo's web.base.url follows it, and sessions stay on one cookie domain.
  routes.push({
    match: [{ not: [{ host: [primary] }] }],
    handle: [
      {
        handler: 'static_response',
        status_code: 308,
        headers: { Location: [`https://${primary}${port}{http.request.uri}`] },
      },
    ],
    terminal: true,
  });
  if (instance.protection?.kind === 'basic') {
    routes.push({
      handle: [
        {
          handler: 'authentication',
          providers: {
            http_basic: {
              hash: { algorithm: 'bcrypt' },
              // Caddy 2.6 takes the bcrypt hash base64-encoded; the cache spares a bcrypt per request.
              accounts: [
                {
                  username: instance.protection.username,
                  password: Buffer.from(instance.protection.passwordHash).toString('base64'),
                },
              ],
              realm: 'Protected instance',
              hash_cache: {},
            },
          },
        },
      ],
    });
  } else if (instance.protection?.kind === 'allow') {
    routes.push({
      // The client's address as the public hop forwarded it (trusted: it comes from loopback).
      match: [{ not: [{ remote_ip: { ranges: instance.protection.addresses, forwarded: true } }] }],
      handle: [
        {
          handler: 'static_response',
          status_code: 403,
          headers: { 'Content-Type': ['text/plain; charset=utf-8'] },
          body: 'This instance only answers to allowed addresses.',
        },
      ],
      terminal: true,
    });
  }
  routes.push(bodyLimitRoute(instance));
  if (instance.geventUpstream) {
    const paths = ['/websocket', '/websocket/*', ...(instance.longpolling ? ['/longpolling/*'] : [])];
    routes.push({
      match: [{ path: paths }],
      handle: [upstream(instance.geventUpstream, state, { longReads: false })],
      terminal: true,
    });
  }
  routes.push({
    handle: [
      // A body without Content-Length (chunked) is cut at the limit: 413 through the error routes.
      { handler: 'request_body', max_size: instance.maxRequestBodyBytes },
      { handler: 'encode', encodings: { zstd: {}, gzip: {} }, prefer: ['zstd', 'gzip'] },
      upstream(instance.httpUpstream, state, { longReads: true }),
    ],
  });
  return {
    listen: [`${instance.edgeIp}:${EDGE_INSTANCE_PORT}`],
    automatic_https: { disable: true },
    // Its own access logger, named after the server: Marina counts its requests by that name (access-log.ts).
    ...(state.accessLogAddress ? { logs: { default_logger_name: instanceServerName(instance.id) } } : {}),
    routes,
    errors: {
      routes: [
        {
          // A refused sign-in keeps its status (and the WWW-Authenticate header already set).
          match: [{ vars: { '{http.error.status_code}': ['401'] } }],
          handle: [
            {
              handler: 'static_response',
              status_code: 401,
              headers: { 'Content-Type': ['text/plain; charset=utf-8'] },
              body: 'Sign in to reach this instance.',
            },
          ],
          terminal: true,
        },
        {
          match: [{ vars: { '{http.error.status_code}': ['413'] } }],
          handle: [{ handler: 'static_response', status_code: 413, body: TOO_LARGE }],
          terminal: true,
        },
        {
          // Odoo does not answer (stopped, restoring, updating, suspended): the maintenance page.
          handle: [
            {
              handler: 'static_response',
              status_code: 503,
              headers: { ...html, 'Retry-After': [String(MAINTENANCE_RETRY_SECONDS)] },
              body: MAINTENANCE_PAGE,
            },
          ],
        },
      ],
    },
  };
}

export function buildCaddyConfig(state: EdgeState): Record<string, unknown> {
  const servers: Record<string, unknown> = {
    [PUBLIC_SERVER]: publicServer(state),
    [REDIRECT_SERVER]: redirectServer(state),
  };
  const instances = [...state.instances].sort((a, b) => a.id.localeCompare(b.id));
  for (const instance of instances) servers[instanceServerName(instance.id)] = instanceServer(instance, state);
  const certificates = [...state.certificates].sort((a, b) => a.hostname.localeCompare(b.hostname));
  return {
    admin: { listen: state.adminListen },
    ...(state.accessLogAddress ? { logging: accessLogging(state.accessLogAddress) } : {}),
    apps: {
      http: { http_port: state.httpPort, https_port: state.httpsPort, servers },
      tls: {
        automation: {
          on_demand: { ask: state.askUrl },
          policies: [{ issuers: [issuer(state.acme)], on_demand: true }],
        },
        ...loadedCertificates(state.wildcard, certificates),
      },
      // Caddy's local CA (MARINA_ACME_CA=internal) must not try to install itself into the system's trust.
      ...(state.acme.ca === 'internal'
        ? { pki: { certificate_authorities: { local: { install_trust: false } } } }
        : {}),
    },
  };
}

/** The wildcard (from files, or in memory) and the organizations' uploaded certificates. */
function loadedCertificates(wildcard: EdgeState['wildcard'], uploaded: EdgeState['certificates']) {
  const pem = uploaded.map((c) => ({ certificate: c.certificatePem, key: c.keyPem, tags: [`domain:${c.hostname}`] }));
  if (wildcard && 'certificatePem' in wildcard)
    pem.unshift({ certificate: wildcard.certificatePem, key: wildcard.keyPem, tags: ['wildcard'] });
  const files =
    wildcard && 'certFile' in wildcard
      ? [{ certificate: wildcard.certFile, key: wildcard.keyFile, tags: ['wildcard'] }]
      : [];
  if (files.length === 0 && pem.length === 0) return {};
  return {
    certificates: { ...(files.length > 0 ? { load_files: files } : {}), ...(pem.length > 0 ? { load_pem: pem } : {}) },
  };
}

/**
 * The instance servers' access logs go to Marina only (not to the proxy's own output), as one JSON
 * line per request over UDP, stripped to what Marina reads: no headers, no client address, no
 * query string (tokens live there), only the first path segment (a websocket's is not a latency).
 */
function accessLogging(address: string) {
  const drop = { filter: 'delete' };
  return {
    logs: {
      default: { exclude: [ACCESS_LOGGERS] },
      [ACCESS_LOG]: {
        include: [ACCESS_LOGGERS],
        writer: { output: 'net', address, dial_timeout: '1s' },
        encoder: {
          format: 'filter',
          wrap: { format: 'json' },
          fields: {
            'request>uri': { filter: 'regexp', regexp: '(?s)^(/[A-Za-z0-9_.-]{0,40})?.*$', value: '$1' },
            'request>headers': drop,
            'request>remote_ip': drop,
            'request>remote_port': drop,
            'request>host': drop,
            'request>tls': drop,
            resp_headers: drop,
            user_id: drop,
          },
        },
      },
    },
  };
}
