import type { Logger } from 'pino';
import { CaddyAdmin } from '../../adapters/proxy/caddy-admin.js';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import { type Clock, systemClock } from '../../platform/clock.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { type HostService, LOCAL_HOST_ID } from '../hosts/hosts.js';
import type { InstanceService } from '../instances/service.js';
import type { TrafficRecorder } from '../metrics/http-traffic.js';
import { AccessLogListener } from './access-log.js';
import { backfillEdgeIdentities } from './backfill.js';
import { buildCaddyConfig, type EdgeState, PUBLIC_SERVER } from './caddy-config.js';
import { probeCertificate } from './certificate-probe.js';
import { EdgeDns } from './edge-dns.js';
import { ManagedProxy } from './managed-proxy.js';
import { OdooAddresses } from './odoo-addresses.js';
import { type EdgeRoute, RouteTable } from './route-table.js';
import { EdgeStateReader } from './state.js';
import { EdgeSync } from './sync.js';
import { WildcardCertificates } from './wildcard/renewer.js';

export { edgeRoutes } from './routes.js';

/** What the edge serves for a name, asked of the edge on this machine (domains keep it per name). */
export function edgeCertificateProbe(config: Pick<MarinaConfig, 'edge'>) {
  const port = config.edge?.httpsPort;
  if (port === undefined) return undefined;
  return (hostname: string) => probeCertificate({ host: '127.0.0.1', port }, hostname);
}
export type { EdgeRoute };

/**
 * The edge (reverse proxy, TLS, names): what other modules reach. Off without MARINA_BASE_DOMAIN:
 * `enabled` is false, `sync` does nothing and `lookup` finds nothing.
 */
export interface EdgeService {
  readonly enabled: boolean;
  /** Asks for the proxy's configuration to be brought up to date (coalesced; never throws). */
  sync(reason: string): void;
  /** Which instance a host name reaches (a platform name, or a verified custom domain). */
  lookup(hostname: string): Promise<EdgeRoute | null>;
  /** Runs a pending sync now and waits for it; throws when the load failed. */
  flush(): Promise<void>;
  /** The state the proxy's configuration is built from (benchmarks and diagnostics). */
  currentState(): Promise<EdgeState>;
  /** Configurations Caddy accepted since start. */
  readonly loads: number;
  /** The port of the edge DNS (0 until started). */
  readonly dnsPort: number;
  /** The wildcard certificate Marina obtains through DNS-01 (MARINA_EDGE_WILDCARD_DNS01), else undefined. */
  readonly wildcard: WildcardCertificates | undefined;
  /** Back-fills names of older instances, starts the DNS, loads the proxy. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface EdgeModuleDeps {
  db: Db;
  box: SecretBox;
  logger: Logger;
  config: Pick<MarinaConfig, 'edge' | 'host' | 'port' | 'instances' | 'namespace'> &
    Partial<Pick<MarinaConfig, 'publicUrl'>>;
  instances: InstanceService;
  /** This machine's runtime, where the managed proxy runs (MARINA_CADDY_ADMIN_URL unset). */
  hosts: Pick<HostService, 'reachableRuntime'>;
  /** How often the watch looks at the proxy (default once a minute; tests use a fraction of a second). */
  proxyCheckMs?: number;
  /** When the wildcard certificate is due for renewal (tests move it). */
  clock?: Clock;
  /** Where the requests the proxy serves are counted (request metrics); absent: not logged at all. */
  traffic?: TrafficRecorder;
}

const PROXY_CHECK_MS = 60_000;

const disabled: EdgeService = {
  enabled: false,
  sync: () => undefined,
  lookup: async () => null,
  flush: async () => undefined,
  currentState: () => Promise.reject(new Error('the edge is off (MARINA_BASE_DOMAIN is not set)')),
  loads: 0,
  dnsPort: 0,
  wildcard: undefined,
  start: async () => undefined,
  stop: async () => undefined,
};

/** Marina's own address as the proxy (on this machine) reaches it, for the `ask` endpoint. */
function loopbackOf(host: string): string {
  if (host === '0.0.0.0' || host === '' || host === 'localhost') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export function createEdgeModule(deps: EdgeModuleDeps): { edge: EdgeService } {
  const { db, box, logger, config, instances } = deps;
  if (!config.edge) return { edge: disabled };
  const edgeConfig = config.edge;
  const log = logger.child({ module: 'edge' });
  const routes = new RouteTable(db);
  // Instances whose ports are not published are found by name: their container's address now.
  const addresses = new OdooAddresses({ db, instances });
  const dns = new EdgeDns(
    (host) => routes.lookup(host),
    log,
    (label) => addresses.lookup(label),
  );
  const bind = config.instances.bindAddress;
  const proxy = edgeConfig.managedProxy
    ? new ManagedProxy({
        runtime: () => deps.hosts.reachableRuntime(LOCAL_HOST_ID),
        namespace: config.namespace,
        hostId: LOCAL_HOST_ID,
        edge: edgeConfig,
        managed: edgeConfig.managedProxy,
        answers: () => admin.config(),
        logger: log,
      })
    : undefined;
  const reader = new EdgeStateReader({
    db,
    box,
    logger: log,
    // Caddy in its container reads the operator's files where they are mounted.
    edge: proxy ? proxy.inside(edgeConfig) : edgeConfig,
    upstreamHost: loopbackOf(bind),
    publishes: (instance) => instances.publishes(instance),
    askUrl: `http://${loopbackOf(config.host)}:${config.port}/api/v1/edge/ask`,
    dnsPort: () => dns.port,
    signInUrl: config.publicUrl,
  });
  const admin = new CaddyAdmin(edgeConfig.caddyAdminUrl);
  const accessLog = deps.traffic ? new AccessLogListener({ traffic: deps.traffic, logger: log }) : undefined;
  /** The instances of the configuration built last: counted once the proxy accepted it. */
  let built: string[] = [];
  const sync = new EdgeSync({
    build: async () => {
      const state = await reader.read();
      built = state.instances.map((i) => i.id);
      return buildCaddyConfig({ ...state, accessLogAddress: accessLog?.address });
    },
    load: async (caddyConfig) => {
      await admin.load(caddyConfig);
      accessLog?.serve(built);
    },
    logger: log,
  });
  const wildcard = edgeConfig.wildcardDns01
    ? new WildcardCertificates({
        db,
        box,
        logger: log,
        clock: deps.clock ?? systemClock,
        edge: edgeConfig,
        dns01: edgeConfig.wildcardDns01,
        obtained: () => sync.request('a new wildcard certificate'),
      })
    : undefined;
  // Created, deleted, moved to another port: the set of instances may have changed. A status
  // change builds the same configuration, which is not sent again.
  const onInstance = (changed: { id: string }) => {
    addresses.forget(changed.id);
    sync.request('an instance changed');
  };
  let started = false;
  let watch: NodeJS.Timeout | undefined;

  /**
   * A Caddy restarted without --resume (or by hand) has lost Marina's configuration, and Marina
   * would not know: it looks once a minute (proxyCheckMs) and loads again when its public server is gone.
   */
  async function checkProxy(): Promise<void> {
    await ensureProxy();
    const running = (await admin.config().catch(() => undefined)) as
      | {
          apps?: { http?: { servers?: Record<string, unknown> } };
        }
      | null
      | undefined;
    if (running === undefined) return; // unreachable: the sync's own retries report it
    if (!running?.apps?.http?.servers?.[PUBLIC_SERVER]) {
      sync.invalidate();
      sync.request('the proxy had lost its configuration');
    }
  }

  /** The managed proxy's container, made or started when gone or stopped (at start, then by the watch). */
  async function ensureProxy(): Promise<void> {
    if (!proxy) return;
    try {
      // A new container may start from an empty configuration: load it (retried until Caddy answers).
      if ((await proxy.ensure()) === 'created') {
        sync.invalidate();
        sync.request('the managed proxy was made');
      }
    } catch (error) {
      log.error({ err: error, container: proxy.name }, 'edge: the managed proxy could not be made or started');
    }
  }

  const edge: EdgeService = {
    enabled: true,
    sync: (reason) => sync.request(reason),
    lookup: (hostname) => routes.lookup(hostname),
    flush: () => sync.flush(),
    currentState: () => reader.read(),
    get loads() {
      return sync.loads;
    },
    get dnsPort() {
      return dns.port;
    },
    wildcard,
    async start() {
      if (started) return;
      started = true;
      await backfillEdgeIdentities({
        db,
        edge: { ...edgeConfig, publicUrl: config.publicUrl },
        instances,
        logger: log,
      });
      await dns.start(edgeConfig.dnsPort);
      // Before the first load, which names the listener's port. Without it the proxy logs nothing
      // and requests stay unknown; the edge itself works on.
      await accessLog
        ?.start(edgeConfig.accessLogPort)
        .catch((error: unknown) =>
          log.error({ err: error, port: edgeConfig.accessLogPort }, 'edge: the access log listener could not start'),
        );
      instances.bus.on('instance', onInstance);
      instances.bus.on('instance-removed', onInstance);
      if (config.instances.publishPorts && (bind === '0.0.0.0' || bind === '::'))
        log.warn(
          { bind },
          'edge: instances are also published on every address of this host, around the proxy (its protection and redirects); set MARINA_INSTANCE_BIND=127.0.0.1',
        );
      await ensureProxy();
      sync.resume();
      sync.request('Marina started');
      watch = setInterval(() => void checkProxy(), deps.proxyCheckMs ?? PROXY_CHECK_MS);
      watch.unref();
      wildcard?.start();
      // Caddy may not be up yet: the sync keeps retrying in the background and logs why.
      await sync.flush().catch(() => undefined);
    },
    async stop() {
      if (!started) return;
      started = false;
      clearInterval(watch);
      await wildcard?.stop();
      instances.bus.off('instance', onInstance);
      instances.bus.off('instance-removed', onInstance);
      await sync.stop();
      await dns.stop();
      accessLog?.serve([]);
      await accessLog?.stop();
    },
  };
  return { edge };
}
