import type { Instance } from '../../db/schema.js';
import { renderOdooConf } from '../../odoo/config-file.js';
import { workerSettings } from '../../odoo/sizing.js';
import { initModules } from '../../odoo/template-recipe.js';
import { type CatalogEntry, type OdooVersion, versionFacts } from '../../odoo/versions.js';
import { MarinaError } from '../../platform/errors.js';
import type { JobContext } from '../../platform/jobs/runner.js';
import { type ConfigFile, type InstanceSpec, LABEL_KIND, type Mount, type OneOffSpec } from '../../runtime/port.js';
import { namespaceLabels } from '../hosts/database-servers.js';

export const ODOO_UID = 101;
export const ODOO_CONF_DIR = '/etc/odoo';
export const ODOO_DATA_DIR = '/var/lib/odoo';
export const ODOO_SOURCE_MOUNT = '/opt/odoo';
/** Where a container finds its image's compiled Python for the mounted source, read-only (./bytecode.ts). */
export const ODOO_BYTECODE_DIR = '/opt/marina-bytecode';
/** Threads count as pids: room for Odoo's workers, cron threads and request threads, not for a fork bomb. */
export const ODOO_PIDS_LIMIT = 1024;
/** Odoo's ports inside its container: HTTP, and the gevent server (websocket) when it runs workers. */
export const ODOO_HTTP_PORT = 8069;
export const ODOO_GEVENT_PORT = 8072;

/** Names on the host and in PostgreSQL come from the namespace and the instance id, never from user text. */
export function runtimeNames(
  namespace: string,
  instanceId: string,
): { dbName: string; containerName: string; volumeName: string } {
  const short = instanceId.replace(/-/g, '').slice(0, 16);
  if (!/^[0-9a-f]{16}$/.test(short)) throw new Error(`not an instance id: ${instanceId}`);
  return {
    dbName: `odoo_${short}`,
    containerName: `${namespace}-odoo-${short}`,
    volumeName: `${namespace}-filestore-${short}`,
  };
}

export interface RuntimeSecrets {
  dbPassword: string;
  masterPassword: string;
}

export interface DatabaseEndpoint {
  host: string;
  port: number;
}

/**
 * A repository checkout mounted read-only under /mnt/extra-addons, with its addons_path entries.
 * The source is the checkout folder itself, never a folder inside it: Docker follows a symbolic
 * link in a bind source on the host, while links inside the mount resolve in the container.
 */
export interface AddonMount {
  source: string;
  target: string;
  /** Container paths that hold addon folders. */
  paths: string[];
}

export const EXTRA_ADDONS = '/mnt/extra-addons';

/** Everything an instance's containers are made of, resolved from its records. */
export interface OdooRuntime {
  placement: Placement;
  catalog: CatalogEntry;
  endpoint: DatabaseEndpoint;
  secrets: RuntimeSecrets;
  addons: AddonMount[];
  /** The volume of compiled Python for the mounted source (./bytecode.ts), once it is built. */
  bytecode?: string;
}

export function odooConf(instance: Instance, rt: OdooRuntime): string {
  // Odoo adds its own odoo/addons by itself; a mounted source tree brings its addons/ folder too.
  const core = rt.catalog.sourceMount ? [`${ODOO_SOURCE_MOUNT}/addons`] : [];
  const repositories = rt.addons.flatMap((a) => a.paths);
  return renderOdooConf({
    version: instance.odoo_version as OdooVersion,
    dbName: instance.db_name,
    dbHost: rt.endpoint.host,
    dbPort: rt.endpoint.port,
    dbUser: instance.db_name,
    dbPassword: rt.secrets.dbPassword,
    adminPassword: rt.secrets.masterPassword,
    addonsPaths: [...new Set([...core, EXTRA_ADDONS, ...repositories])],
    dataDir: ODOO_DATA_DIR,
    workers: workerSettings({ cpus: instance.cpus, memoryMb: instance.memory_mb }),
    serverWideModules: rt.catalog.serverWideModules,
    blockOutgoingMail: instance.stage !== 'production',
  });
}

export const instanceLabels = (namespace: string, instance: Instance): Record<string, string> => ({
  ...namespaceLabels(namespace, 'odoo', instance.id),
  'io.marina.organization': instance.organization_id,
  'io.marina.project': instance.project_id,
  'io.marina.database': instance.db_name,
  'io.marina.version': instance.odoo_version,
  // Enough to adopt the container again if Marina ever loses its record (see reconcile).
  'io.marina.name': instance.name,
  'io.marina.stage': instance.stage,
  'io.marina.language': instance.language,
});

/** Where an instance's containers run: the namespace's labels and its organization's network. */
export interface Placement {
  namespace: string;
  network: string;
}

/** odoo.conf as the instance's containers get it: readable by Odoo's user only. */
function configFile(rt: OdooRuntime, instance: Instance): ConfigFile {
  return {
    dir: ODOO_CONF_DIR,
    name: 'odoo.conf',
    content: odooConf(instance, rt),
    uid: ODOO_UID,
    gid: ODOO_UID,
    mode: 0o600,
  };
}

/** What every container of the instance has: image, database settings, labels, network, mounts. */
function baseSpec(rt: OdooRuntime, instance: Instance) {
  const mounts: Mount[] = [{ type: 'volume', source: instance.volume_name, target: ODOO_DATA_DIR }];
  if (rt.catalog.sourceMount)
    mounts.push({ type: 'bind', source: rt.catalog.sourceMount, target: ODOO_SOURCE_MOUNT, readOnly: true });
  for (const addon of rt.addons)
    mounts.push({ type: 'bind', source: addon.source, target: addon.target, readOnly: true });
  // Only a mounted source needs it: an image with Odoo inside brings its compiled files.
  const bytecode = rt.catalog.sourceMount ? rt.bytecode : undefined;
  if (bytecode) mounts.push({ type: 'volume', source: bytecode, target: ODOO_BYTECODE_DIR, readOnly: true });
  return {
    image: rt.catalog.image,
    // The official image's contract: HOST/PORT/USER/PASSWORD for the database.
    env: {
      HOST: rt.endpoint.host,
      PORT: String(rt.endpoint.port),
      USER: instance.db_name,
      PASSWORD: rt.secrets.dbPassword,
      ...(bytecode ? { PYTHONPYCACHEPREFIX: ODOO_BYTECODE_DIR } : {}),
    },
    labels: instanceLabels(rt.placement.namespace, instance),
    network: rt.placement.network,
    mounts,
    config: configFile(rt, instance),
  };
}

// A fixed command (no user text) that asks Odoo itself whether it answers.
const HEALTH_PROBE =
  "import sys,urllib.request\ntry:\n  sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8069/web/health',timeout=5).status==200 else 1)\nexcept Exception:\n  sys.exit(1)";

/**
 * The long-running Odoo server of the instance (the runtime gives it no privilege at all). Its
 * ports are published on `publishOn` (an address of the host), or not at all when it is null: the
 * edge then reaches the container on its organization's network.
 */
export function serverSpec(rt: OdooRuntime, instance: Instance, publishOn: string | null): InstanceSpec {
  if (publishOn !== null && instance.http_port === null) throw new Error('the instance has no port');
  return {
    ...baseSpec(rt, instance),
    name: instance.container_name,
    command: ['odoo', '-c', `${ODOO_CONF_DIR}/odoo.conf`],
    limits: {
      memoryBytes: instance.memory_mb * 1024 * 1024,
      nanoCpus: Math.round(instance.cpus * 1e9),
      pids: ODOO_PIDS_LIMIT,
    },
    ...(publishOn !== null && instance.http_port !== null
      ? { http: { port: ODOO_HTTP_PORT, hostIp: publishOn, hostPort: instance.http_port } }
      : {}),
    // The edge's /websocket route reaches Odoo's gevent server here (loopback only).
    ...(publishOn !== null && instance.gevent_port !== null
      ? { gevent: { port: ODOO_GEVENT_PORT, hostIp: '127.0.0.1', hostPort: instance.gevent_port } }
      : {}),
    healthcheck: {
      test: ['CMD', 'python3', '-c', HEALTH_PROBE],
      intervalSeconds: 30,
      timeoutSeconds: 10,
      retries: 3,
      startPeriodSeconds: 60,
    },
  };
}

export interface InitOptions {
  language: string;
  /** A template's modules, installed with base in the same run (names checked again here). */
  modules?: readonly string[];
  /** Load demo data in this run only; odoo.conf keeps saying no demo data. */
  demo?: boolean;
}

export function initSpec(rt: OdooRuntime, instance: Instance, options: InitOptions): OneOffSpec {
  const modules = initModules(options.modules ?? []);
  const cmd = ['odoo', '-c', `${ODOO_CONF_DIR}/odoo.conf`, '-d', instance.db_name, '-i', modules, '--stop-after-init'];
  if (options.language !== 'en_US') cmd.push(`--load-language=${options.language}`);
  if (options.demo) cmd.push(versionFacts(instance.odoo_version as OdooVersion).demoOverride);
  return oneOffSpec(rt, instance, { suffix: 'init', cmd });
}

/** The lines that explain a failed Odoo run: its ERROR/CRITICAL entries and tracebacks, else the tail. */
export function odooErrorLines(output: string, max = 20): string[] {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const start = lines.findIndex((l) => / (ERROR|CRITICAL) /.test(l));
  return (start >= 0 ? lines.slice(start) : lines).slice(-max);
}

/** Odoo's output, line by line, into the job's log (levels from Odoo's own), with a rough progress. */
export function odooOutputToLog(job: Pick<JobContext<unknown>, 'log' | 'progress'>, expectedLines = 100) {
  let pending = '';
  let lines = 0;
  return (text: string) => {
    pending += text;
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    for (const line of complete) {
      if (!line.trim()) continue;
      lines++;
      void job.log(
        line.slice(0, 2000),
        / (ERROR|CRITICAL) /.test(line) ? 'error' : / WARNING /.test(line) ? 'warn' : 'info',
      );
    }
    void job.progress(Math.min(95, (lines / expectedLines) * 100));
  };
}

/**
 * Waits until the instance answers its health URL (or /web/login where /web/health is unknown).
 * `base` is asked again each round: a container's address exists only while it runs.
 */
export async function waitForHealth(
  base: string | (() => Promise<string | null>),
  healthPath: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new Error('cancelled');
    const baseUrl = typeof base === 'string' ? base : await base();
    if (baseUrl === null) last = 'the container has no address on its network (it does not run)';
    for (const path of baseUrl === null ? [] : [healthPath, '/web/login']) {
      try {
        const response = await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(5000), redirect: 'manual' });
        if (response.status === 200) return;
        last = `${path} answered ${response.status}`;
        if (response.status !== 404) break;
      } catch (error) {
        last = `${path}: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`;
        break;
      }
    }
    // Odoo starts in seconds: a short interval keeps the first answer from waiting for the next round.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new MarinaError(
    'MARINA_E_HEALTH_CHECK_FAILED',
    `Odoo did not become healthy within ${Math.round(timeoutMs / 1000)} s (${last}).`,
  );
}

/** A one-off Odoo command on the instance's database and data volume (e.g. `odoo neutralize`). */
export function commandSpec(
  rt: OdooRuntime,
  instance: Instance,
  command: 'neutralize',
  db: string = instance.db_name,
): OneOffSpec {
  return oneOffSpec(rt, instance, {
    suffix: command,
    cmd: ['odoo', command, '-c', `${ODOO_CONF_DIR}/odoo.conf`, '-d', db],
  });
}

/** A one-off container of the instance: a fixed command array, data only through the environment. */
export function oneOffSpec(
  rt: OdooRuntime,
  instance: Instance,
  run: { suffix: string; cmd: string[]; env?: Record<string, string> },
): OneOffSpec {
  const base = baseSpec(rt, instance);
  return {
    ...base,
    name: `${instance.container_name}-${run.suffix}`,
    command: run.cmd,
    env: { ...base.env, ...run.env },
    labels: { ...base.labels, [LABEL_KIND]: 'odoo-oneoff' },
    limits: {
      memoryBytes: Math.max(1024, instance.memory_mb) * 1024 * 1024,
      nanoCpus: Math.round(instance.cpus * 1e9),
      pids: ODOO_PIDS_LIMIT,
    },
    // The official image runs Odoo as uid 101 from the start: it needs no capability at all.
    privileges: 'none',
  };
}
