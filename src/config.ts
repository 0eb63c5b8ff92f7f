import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { type EdgeConfig, edgeFields, imageRef, readEdgeConfig } from './config-edge.js';
import * as monitoring from './config-metrics.js';
import { integer } from './config-parse.js';
import { readSelfServiceConfig, type SelfServiceConfig, selfServiceFields } from './config-selfservice.js';
import { type DatabaseTemplatesConfig, readTemplatesConfig, templateFields } from './config-templates.js';
import { type CatalogOverrides, odooVersions } from './odoo/versions.js';
import { ConfigError } from './platform/errors.js';

export type { EdgeConfig };

export type LogFormat = 'auto' | 'json' | 'pretty';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface MarinaConfig extends monitoring.MonitoringConfig {
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  embeddedPostgresPort: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** false, or what Fastify's `trustProxy` takes: a hop count or the proxies' addresses and CIDR ranges. */
  trustProxy: false | number | string[];
  session: { idleMinutes: number; maxAgeHours: number };
  /**
   * Sign-in backoff: `maxFailures` free failures per (account, address) within a day, and
   * `ipMaxFailures` per address within `ipWindowMinutes`; beyond, each failure doubles the wait
   * (from one minute up to `maxDelayMinutes`) before that address may try again.
   */
  login: { maxFailures: number; maxDelayMinutes: number; ipMaxFailures: number; ipWindowMinutes: number };
  webDir: string | undefined;
  secretKey: string | undefined;
  docker: { host: string };
  postgresImage: string;
  /** An external PostgreSQL server for Odoo databases, instead of a Marina-managed container per host. */
  odooDatabaseUrl: string | undefined;
  odoo: CatalogOverrides;
  instances: {
    bindAddress: string;
    portRange: { from: number; to: number };
    /**
     * Whether Odoo's ports are published on the local host (MARINA_INSTANCE_PUBLISH). Off by default
     * with the edge: the proxy reaches each container on its organization's network.
     */
    publishPorts: boolean;
  };
  jobs: { perHost: number; workers: number };
  /** Prefix and label of every Docker object; two Marinas can share an engine with different ones. */
  namespace: string;
  backups: {
    dir: string;
    uploadLimitBytes: number;
    jobs: number;
    toolsImage: string | undefined;
    /** Waits between attempts of an offsite upload; one more attempt than entries. */
    uploadRetryDelaysMs: number[];
    /** How often the scheduler looks for due backups. */
    schedulerIntervalMs: number;
  };
  /** Server-sent event streams: open at once per user and in all, and how often access is checked again. */
  eventStreams: { perUser: number; total: number; recheckMs: number };
  /** Push-hook deliveries each repository's hook accepts per minute (a token bucket of that size). */
  webhooks: { perMinute: number };
  /** Marina's SMTP mail catcher for staging and development instances; undefined unless MARINA_MAIL_CATCHER_PORT is set. */
  mailCatcher: MailCatcherConfig | undefined;
  /** The edge (reverse proxy, TLS, custom domains); undefined unless MARINA_BASE_DOMAIN is set. */
  edge: EdgeConfig | undefined;
  selfService: SelfServiceConfig;
  /** metrics, uptime, alerts, cluster (config-metrics.ts). */
  databaseTemplates: DatabaseTemplatesConfig;
  restoreUndoHours: number;
}

/** The mail catcher (src/modules/mail/catcher.ts). */
export interface MailCatcherConfig {
  /** The SMTP port it listens on (0: a free port, picked at start). */
  port: number;
  /** The address it listens on (AUTH is always required: each instance has its own login). */
  bindAddress: string;
  /** The address instance containers reach it at (undefined: the Docker bridge's gateway on this host). */
  instanceHost: string | undefined;
  maxMessageBytes: number;
  /** Per instance: the oldest messages are removed beyond this many, or beyond this many bytes. */
  keepMessages: number;
  keepBytes: number;
}

type Source = Record<string, string | undefined>;

interface Field<T> {
  env: string;
  describe: string;
  parse: (raw: string) => T | undefined;
}

const oneOf =
  <T extends string>(...values: T[]) =>
  (raw: string) =>
    values.find((v) => v === raw.trim().toLowerCase());
/**
 * A hop count or a list of proxy addresses/CIDR ranges. A boolean is refused: `true` trusts the
 * X-Forwarded-For of any client, which lets anyone choose the address the sign-in backoff sees.
 */
export const TRUST_PROXY_EXPECTS =
  'a hop count (how many proxies stand in front of Marina, e.g. 1) or a comma-separated list of proxy addresses or CIDR ranges (e.g. 10.0.0.0/8,127.0.0.1); false or 0 for none — "true" is refused, as it would trust any client\'s X-Forwarded-For';
const trustProxy = (raw: string): false | number | string[] | undefined => {
  const value = raw.trim().toLowerCase();
  if (value === 'false') return false;
  if (/^\d{1,2}$/.test(value)) return Number(value) === 0 ? false : Number(value);
  const entries = value.split(',').map((e) => e.trim());
  const valid = entries.every((entry) => {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) return false;
    if (prefix === undefined) return true;
    return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
  });
  return valid ? entries : undefined;
};
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
const postgresUrl = (raw: string) => {
  try {
    const url = new URL(raw.trim());
    return ['postgres:', 'postgresql:'].includes(url.protocol) ? raw.trim() : undefined;
  } catch {
    return undefined;
  }
};
const hostName = (raw: string) => (/^[A-Za-z0-9.:[\]-]{1,253}$/.test(raw.trim()) ? raw.trim() : undefined);
const dockerHost = (raw: string) =>
  /^(unix:\/\/\/|\/|tcp:\/\/|https?:\/\/)[^\s]*$/.test(raw.trim()) ? raw.trim() : undefined;
const portRange = (raw: string) => {
  const match = /^(\d{4,5})-(\d{4,5})$/.exec(raw.trim());
  if (!match) return undefined;
  const from = Number(match[1]);
  const to = Number(match[2]);
  return from >= 1024 && to <= 65535 && from <= to ? { from, to } : undefined;
};
const moduleList = (raw: string) => (/^[a-z0-9_]+(,[a-z0-9_]+)*$/.test(raw.trim()) ? raw.trim() : undefined);
const secret = (raw: string) => (raw.trim().length >= 16 ? raw.trim() : undefined);
const path = (raw: string) => (raw.trim() !== '' && !raw.includes('\0') ? raw.trim() : undefined);

const fields = {
  host: { env: 'MARINA_HOST', describe: 'an IP address or host name to listen on', parse: hostName },
  port: { env: 'MARINA_PORT', describe: 'an integer from 1 to 65535', parse: integer(1, 65535) },
  publicUrl: {
    env: 'MARINA_PUBLIC_URL',
    describe: 'an http(s) URL such as https://marina.example.com',
    parse: httpUrl,
  },
  dataDir: { env: 'MARINA_DATA_DIR', describe: 'a folder path', parse: path },
  backupsDir: { env: 'MARINA_BACKUPS_DIR', describe: 'a folder path', parse: path },
  uploadLimitMb: {
    env: 'MARINA_UPLOAD_LIMIT_MB',
    describe: 'an integer from 1 to 1048576 (megabytes)',
    parse: integer(1, 1024 * 1024),
  },
  backupJobs: { env: 'MARINA_BACKUP_JOBS', describe: 'an integer from 1 to 16', parse: integer(1, 16) },
  backupToolsImage: { env: 'MARINA_BACKUP_TOOLS_IMAGE', describe: 'a Docker image reference', parse: path },
  uploadRetryDelays: {
    env: 'MARINA_UPLOAD_RETRY_DELAYS',
    describe: 'comma-separated seconds between upload attempts, e.g. 10,60,300 (0 to 3600 each, at most 10)',
    parse: (value: string): number[] | undefined => {
      const parts = value.split(',').map((p) => p.trim());
      if (parts.length > 10 || parts.some((p) => !/^\d+(\.\d+)?$/.test(p) || Number(p) > 3600)) return undefined;
      return parts.map((p) => Math.round(Number(p) * 1000));
    },
  },
  schedulerIntervalSeconds: {
    env: 'MARINA_SCHEDULER_INTERVAL_S',
    describe: 'an integer from 1 to 3600 (seconds)',
    parse: integer(1, 3600),
  },
  eventStreamsPerUser: {
    env: 'MARINA_EVENT_STREAMS_PER_USER',
    describe: 'an integer from 1 to 1000',
    parse: integer(1, 1000),
  },
  eventStreamsTotal: {
    env: 'MARINA_EVENT_STREAMS_TOTAL',
    describe: 'an integer from 1 to 100000',
    parse: integer(1, 100000),
  },
  eventStreamsRecheckSeconds: {
    env: 'MARINA_EVENT_STREAMS_RECHECK_S',
    describe: 'an integer from 1 to 3600 (seconds)',
    parse: integer(1, 3600),
  },
  webhookRatePerMinute: {
    env: 'MARINA_WEBHOOK_RATE_PER_MINUTE',
    describe: 'an integer from 1 to 10000',
    parse: integer(1, 10000),
  },
  databaseUrl: {
    env: 'MARINA_DATABASE_URL',
    describe: 'a postgres:// URL (leave unset for the embedded database)',
    parse: postgresUrl,
  },
  embeddedPostgresPort: {
    env: 'MARINA_EMBEDDED_PG_PORT',
    describe: 'an integer from 1024 to 65535',
    parse: integer(1024, 65535),
  },
  logLevel: {
    env: 'MARINA_LOG_LEVEL',
    describe: 'one of fatal, error, warn, info, debug, trace, silent',
    parse: oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  logFormat: {
    env: 'MARINA_LOG_FORMAT',
    describe: 'one of auto, json, pretty',
    parse: oneOf<LogFormat>('auto', 'json', 'pretty'),
  },
  trustProxy: { env: 'MARINA_TRUST_PROXY', describe: TRUST_PROXY_EXPECTS, parse: trustProxy },
  sessionIdleMinutes: {
    env: 'MARINA_SESSION_IDLE_MINUTES',
    describe: 'an integer from 5 to 43200',
    parse: integer(5, 43200),
  },
  sessionMaxAgeHours: {
    env: 'MARINA_SESSION_MAX_AGE_HOURS',
    describe: 'an integer from 1 to 8760',
    parse: integer(1, 8760),
  },
  loginMaxFailures: { env: 'MARINA_LOGIN_MAX_FAILURES', describe: 'an integer from 1 to 100', parse: integer(1, 100) },
  loginMaxDelayMinutes: {
    env: 'MARINA_LOGIN_MAX_DELAY_MINUTES',
    describe: 'an integer from 1 to 1440',
    parse: integer(1, 1440),
  },
  loginIpMaxFailures: {
    env: 'MARINA_LOGIN_IP_MAX_FAILURES',
    describe: 'an integer from 1 to 10000',
    parse: integer(1, 10000),
  },
  webDir: { env: 'MARINA_WEB_DIR', describe: 'a folder holding the built web UI', parse: path },
  secretKey: {
    env: 'MARINA_SECRET_KEY',
    describe: 'a passphrase of at least 16 characters (or 64 hex digits)',
    parse: secret,
  },
  dockerHost: {
    env: 'MARINA_DOCKER_HOST',
    describe: 'unix:///var/run/docker.sock or tcp://host:2376 (else DOCKER_HOST is used)',
    parse: dockerHost,
  },
  postgresImage: {
    env: 'MARINA_POSTGRES_IMAGE',
    describe: 'a Docker image reference such as postgres:16',
    parse: imageRef,
  },
  odooDatabaseUrl: {
    env: 'MARINA_ODOO_DATABASE_URL',
    describe: 'a postgres:// URL of a superuser on a server that Marina and the Odoo containers both reach',
    parse: postgresUrl,
  },
  instanceBind: {
    env: 'MARINA_INSTANCE_BIND',
    describe: 'the IP address instance ports are published on',
    parse: hostName,
  },
  instancePorts: {
    env: 'MARINA_INSTANCE_PORTS',
    describe: 'a port range such as 20000-20999 (1024–65535)',
    parse: portRange,
  },
  instancePublish: {
    env: 'MARINA_INSTANCE_PUBLISH',
    describe: "publish (Odoo's ports on this host, as without the edge) or none (only the edge reaches instances)",
    parse: oneOf<'publish' | 'none'>('publish', 'none'),
  },
  jobsPerHost: { env: 'MARINA_JOBS_PER_HOST', describe: 'an integer from 1 to 16', parse: integer(1, 16) },
  namespace: {
    env: 'MARINA_NAMESPACE',
    describe: 'a lowercase name of up to 20 letters, digits and dashes, starting with a letter',
    parse: (raw: string) => (/^[a-z][a-z0-9-]{0,19}$/.test(raw.trim()) ? raw.trim() : undefined),
  },
  mailCatcherPort: {
    env: 'MARINA_MAIL_CATCHER_PORT',
    describe: 'an integer from 0 to 65535 (0: a free port)',
    parse: integer(0, 65535),
  },
  mailCatcherBind: {
    env: 'MARINA_MAIL_CATCHER_BIND',
    describe: 'the IP address the mail catcher listens on',
    parse: hostName,
  },
  mailCatcherHost: {
    env: 'MARINA_MAIL_CATCHER_HOST',
    describe: 'the address instance containers reach the mail catcher at',
    parse: hostName,
  },
  mailCatcherMaxMb: {
    env: 'MARINA_MAIL_CATCHER_MAX_MB',
    describe: 'an integer from 1 to 100 (megabytes per message)',
    parse: integer(1, 100),
  },
  mailCatcherKeep: {
    env: 'MARINA_MAIL_CATCHER_KEEP',
    describe: 'an integer from 1 to 100000 (messages kept per instance)',
    parse: integer(1, 100_000),
  },
  mailCatcherKeepMb: {
    env: 'MARINA_MAIL_CATCHER_KEEP_MB',
    describe: 'an integer from 1 to 100000 (megabytes kept per instance)',
    parse: integer(1, 100_000),
  },
} satisfies Record<string, Field<unknown>>;

/** Per Odoo version: MARINA_ODOO_17_IMAGE, MARINA_ODOO_17_SOURCE, MARINA_ODOO_17_LOAD … */
const odooFields = Object.fromEntries(
  odooVersions.map((version) => {
    const major = Number.parseInt(version, 10);
    return [
      version,
      {
        image: {
          env: `MARINA_ODOO_${major}_IMAGE`,
          describe: 'a Docker image reference such as odoo:17',
          parse: imageRef,
        },
        source: {
          env: `MARINA_ODOO_${major}_SOURCE`,
          describe: 'an absolute path to an Odoo source tree',
          parse: path,
        },
        load: {
          env: `MARINA_ODOO_${major}_LOAD`,
          describe: 'comma-separated server-wide modules such as base,web',
          parse: moduleList,
        },
      },
    ];
  }),
) as Record<(typeof odooVersions)[number], { image: Field<string>; source: Field<string>; load: Field<string> }>;

/** Every variable Marina reads, for the README and `marina config`. */
export const configVariables = [
  ...Object.values(fields),
  ...Object.values(edgeFields),
  ...Object.values(selfServiceFields),
  ...Object.values(monitoring.metricsFields),
  ...Object.values(templateFields),
  ...Object.values(odooFields).flatMap((f) => [f.image, f.source, f.load]),
].map((f) => ({ env: f.env, expects: f.describe }));

/**
 * Reads an optional JSON config file whose keys are the same MARINA_* names as the environment.
 * The environment wins over the file, so a systemd override or a shell export always takes effect.
 */
function readConfigFile(file: string): Source {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([`MARINA_CONFIG: cannot read ${file} as JSON (${(error as Error).message})`]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`MARINA_CONFIG: ${file} must hold a JSON object of MARINA_* keys`]);
  }
  const known = new Set(configVariables.map((f) => f.env));
  const problems: string[] = [];
  const source: Source = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!known.has(key)) problems.push(`${file}: unknown key ${key}`);
    else if (value !== null) source[key] = String(value);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return source;
}

export function loadConfig(env: Source = process.env, cwd: string = process.cwd()): MarinaConfig {
  const file = env.MARINA_CONFIG?.trim();
  const source: Source = { ...(file ? readConfigFile(resolve(cwd, file)) : {}), ...env };
  const problems: string[] = [];

  function read<T>(field: Field<T>, fallback: T): T;
  function read<T>(field: Field<T>, fallback: undefined): T | undefined;
  function read<T>(field: Field<T>, fallback: T | undefined): T | undefined {
    const raw = source[field.env];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = field.parse(raw);
    if (value === undefined) {
      const shown = raw.length > 60 ? `${raw.slice(0, 60)}…` : raw;
      problems.push(`${field.env}: expected ${field.describe}, got ${JSON.stringify(shown)}`);
      return fallback;
    }
    return value;
  }

  function mailCatcherOf(): MailCatcherConfig | undefined {
    const catcherPort = read(fields.mailCatcherPort, undefined);
    if (catcherPort === undefined) return undefined;
    return {
      port: catcherPort,
      bindAddress: read(fields.mailCatcherBind, '0.0.0.0'),
      instanceHost: read(fields.mailCatcherHost, undefined),
      maxMessageBytes: read(fields.mailCatcherMaxMb, 25) * 1024 * 1024,
      keepMessages: read(fields.mailCatcherKeep, 500),
      keepBytes: read(fields.mailCatcherKeepMb, 200) * 1024 * 1024,
    };
  }

  const port = read(fields.port, 9998);
  const dataDir = read(fields.dataDir, 'data');
  // The edge on (MARINA_BASE_DOMAIN): the proxy is the way in, instances' own ports stay closed.
  const edgeOn = Boolean(source.MARINA_BASE_DOMAIN?.trim());
  const config: MarinaConfig = {
    host: read(fields.host, '0.0.0.0'),
    port,
    publicUrl: read(fields.publicUrl, `http://localhost:${port}`),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir),
    databaseUrl: read(fields.databaseUrl, undefined),
    embeddedPostgresPort: read(fields.embeddedPostgresPort, 9997),
    logLevel: read(fields.logLevel, 'info'),
    logFormat: read(fields.logFormat, 'auto'),
    trustProxy: read(fields.trustProxy, false),
    session: {
      idleMinutes: read(fields.sessionIdleMinutes, 12 * 60),
      maxAgeHours: read(fields.sessionMaxAgeHours, 7 * 24),
    },
    login: {
      maxFailures: read(fields.loginMaxFailures, 5),
      maxDelayMinutes: read(fields.loginMaxDelayMinutes, 15),
      ipMaxFailures: read(fields.loginIpMaxFailures, 30),
      ipWindowMinutes: 15,
    },
    webDir: read(fields.webDir, undefined),
    secretKey: read(fields.secretKey, undefined),
    docker: { host: read(fields.dockerHost, dockerHost(source.DOCKER_HOST ?? '') ?? 'unix:///var/run/docker.sock') },
    postgresImage: read(fields.postgresImage, 'postgres:16'),
    odooDatabaseUrl: read(fields.odooDatabaseUrl, undefined),
    odoo: Object.fromEntries(
      odooVersions.map((version) => {
        const f = odooFields[version];
        return [
          version,
          {
            image: read(f.image, undefined),
            sourceMount: read(f.source, undefined),
            serverWideModules: read(f.load, undefined),
          },
        ];
      }),
    ),
    instances: {
      // With the edge, the proxy is the way in: instance ports stay on loopback unless told otherwise.
      bindAddress: read(fields.instanceBind, edgeOn ? '127.0.0.1' : '0.0.0.0'),
      portRange: read(fields.instancePorts, { from: 20000, to: 20999 }),
      publishPorts: read(fields.instancePublish, edgeOn ? 'none' : 'publish') === 'publish',
    },
    jobs: { perHost: read(fields.jobsPerHost, 2), workers: 4 },
    namespace: read(fields.namespace, 'marina'),
    backups: {
      dir: '',
      uploadLimitBytes: read(fields.uploadLimitMb, 20 * 1024) * 1024 * 1024,
      // pg_dump and pg_restore jobs: two keep a small host responsive and still double the speed.
      jobs: read(fields.backupJobs, 2),
      toolsImage: read(fields.backupToolsImage, undefined),
      // Backoff for flaky links: 10 s, 1 min, 5 min, then the copy is failed and reported.
      uploadRetryDelaysMs: read(fields.uploadRetryDelays, [10_000, 60_000, 300_000]),
      schedulerIntervalMs: read(fields.schedulerIntervalSeconds, 30) * 1000,
    },
    // A browser tab holds two or three streams; ten leave room for several tabs.
    eventStreams: {
      perUser: read(fields.eventStreamsPerUser, 10),
      total: read(fields.eventStreamsTotal, 1000),
      recheckMs: read(fields.eventStreamsRecheckSeconds, 30) * 1000,
    },
    webhooks: { perMinute: read(fields.webhookRatePerMinute, 30) },
    mailCatcher: mailCatcherOf(),
    edge: readEdgeConfig(read, source, problems),
    selfService: readSelfServiceConfig(read),
    ...monitoring.readMonitoringConfig(read),
    ...readTemplatesConfig(read),
  };
  if (!edgeOn && !config.instances.publishPorts)
    problems.push(
      'MARINA_INSTANCE_PUBLISH: none needs the edge (MARINA_BASE_DOMAIN): nothing else would reach instances',
    );
  const backupsDir = read(fields.backupsDir, join(config.dataDir, 'backups'));
  config.backups.dir = isAbsolute(backupsDir) ? backupsDir : resolve(cwd, backupsDir);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
