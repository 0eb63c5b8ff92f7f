/**
 * The port between Marina and whatever runs Odoo on a host. Modules speak of instances, one-off
 * runs, data volumes, database servers and networks; an implementation (runtime/docker today)
 * decides what they are made of and how they are hardened. `contract.ts` holds the tests every
 * implementation passes, so that a stand-in used by fast tests cannot drift from the real one.
 */
import type { Duplex, Readable, Writable } from 'node:stream';

/** Every object Marina creates carries these labels, so reconciliation can tell Marina's from others'. */
export const LABEL_MANAGED = 'io.marina.managed';
export const LABEL_KIND = 'io.marina.kind';
export const LABEL_ID = 'io.marina.id';
export const LABEL_NAMESPACE = 'io.marina.namespace';

/** What the runtime of a host says about itself. */
export interface RuntimeInfo {
  version: string;
  apiVersion: string;
  os: string;
  cpus: number;
  memoryBytes: number;
  name: string;
}

/** A named data volume, or a folder of Marina's host (read-only checkouts, an Odoo source tree). */
export interface Mount {
  type: 'volume' | 'bind';
  source: string;
  target: string;
  readOnly?: boolean;
}

/** A file written into a workload before it starts (odoo.conf), with its owner and mode. */
export interface ConfigFile {
  dir: string;
  name: string;
  content: string;
  uid: number;
  gid: number;
  mode: number;
}

export interface Healthcheck {
  test: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

/** A long-running Odoo server: its image, command, odoo.conf, addons and data mounts, limits and network. */
export interface InstanceSpec {
  name: string;
  image: string;
  command: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  network: string;
  mounts: Mount[];
  config: ConfigFile;
  limits: { memoryBytes: number; nanoCpus: number; pids: number };
  /**
   * Odoo's HTTP port, published on Marina's host (hostPort 0: the runtime picks one). Absent: not
   * published at all; the edge reaches the container at its address on `network` (see `address`).
   */
  http?: { port: number; hostIp: string; hostPort: number };
  /** Odoo's gevent port (websocket), published too when the instance runs workers behind the edge. */
  gevent?: { port: number; hostIp: string; hostPort: number };
  healthcheck: Healthcheck;
}

/**
 * A one-off run to completion: an Odoo command on an instance's database and volume, or a tool of
 * the PostgreSQL image (pg_dump, psql, a file helper). Its name is fixed: a leftover of the same
 * name (a crashed earlier run) is removed first, and the run is removed when it ends.
 */
export interface OneOffSpec {
  name: string;
  image: string;
  command: string[];
  /** Replaces the image's own entrypoint (a tools image would start a server). */
  entrypoint?: string[];
  env?: Record<string, string>;
  labels: Record<string, string>;
  /** A network to join; `none`: no network at all (not even the engine's default bridge). */
  network?: string;
  mounts?: Mount[];
  config?: ConfigFile;
  /** Unset: the runtime's default limits, so that a runaway helper cannot take the host down. */
  limits?: {
    memoryBytes?: number;
    nanoCpus?: number;
    pids?: number;
    /**
     * Its weight when the host's CPU is short (the engine's default 1024): a helper whose work can
     * wait takes what the others leave. Docker's; Swarm services have no weights.
     */
    cpuShares?: number;
  };
  /**
   * `none`: no privilege at all (Odoo runs as its own user). `files`: a root helper that may change
   * owners, modes and files of other owners on its volumes, and nothing more. `read`: root that may
   * read every file and folder whatever its mode (DAC_READ_SEARCH) and nothing else (a measurement).
   */
  privileges: 'none' | 'files' | 'read';
}

/** The managed PostgreSQL server of a host: the official postgres image's contract, data in a volume. */
export interface DatabaseServerSpec {
  name: string;
  image: string;
  command: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  network: string;
  /** Its name on `network` (and on every network it joins later). */
  alias: string;
  volume: string;
  dataDir: string;
  /** Published on Marina's host loopback only (read it back with publishedPort). */
  port: number;
}

/**
 * The managed reverse proxy of a host (the official caddy image's contract): on the host's own
 * network (it listens on the host's ports and reaches loopback and the containers' bridge networks),
 * its volumes and the operator's files (read-only bind mounts) mounted, restarted unless stopped.
 */
export interface ProxyServerSpec {
  name: string;
  image: string;
  command: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  mounts: Mount[];
  /** Written before it starts (the proxy's first configuration). */
  config: ConfigFile;
}

export interface RunResult {
  exitCode: number;
  output: string;
}

/** A workload (instance, run, server) as the runtime sees it now. */
export interface WorkloadState {
  id: string;
  name: string;
  status: string;
  running: boolean;
  restarting: boolean;
  exitCode: number;
  startedAt: Date | null;
  health: string | null;
  labels: Record<string, string>;
}

/** What an existing instance was made with: enough to adopt it again (see reconcile). */
export interface WorkloadDetails {
  id: string;
  labels: Record<string, string>;
  running: boolean;
  startedAt: string;
  mounts: { type: string; source: string; target: string }[];
  /** Published host port of each container port, as configured. */
  publishedPorts: Record<number, number | undefined>;
  memoryBytes: number;
  nanoCpus: number;
}

/** A change of state of one of the namespace's workloads. */
export interface RuntimeEvent {
  id: string;
  /** start, die, stop, restart, oom, destroy, health_status: healthy|unhealthy, … */
  action: string;
  labels: Record<string, string>;
  exitCode?: number;
  time: Date;
  /** From one of the containers a replicated workload goes through (a Swarm task), which may not be
   *  its current one: an old task removed or stopped late says nothing until the state confirms it. */
  ofTask?: boolean;
}

export interface WorkloadStats {
  cpuPercent: number | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  networkRxBytes: number | null;
  networkTxBytes: number | null;
}

/**
 * One cheap reading of a workload for monitoring: its state and cumulative figures. `undefined`
 * from `sample` means there is no such workload. Figures the runtime could not read are null.
 */
export interface WorkloadSample {
  running: boolean;
  /** CPU time used since the workload (re)started, in seconds: a counter that resets on restart. */
  cpuSecondsTotal: number | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  /** Restarts by the runtime's restart policy (a crash or an out-of-memory kill). */
  restarts: number | null;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nine fractional digits, so that ids sort as text. */
  timestamp: string;
  text: string;
}

export interface LogQuery {
  follow: boolean;
  /** Lines from the end; undefined = all. */
  tail?: number;
  since?: Date | string;
  until?: Date;
}

/** Reads and writes the volumes mounted into a data carrier, as tar streams. */
export interface DataAccess {
  /** A folder or file under a mount's target as a tar stream (entries named after its last part), or undefined. */
  read(path: string): Promise<Readable | undefined>;
  /** Extracts a tar stream into a folder under a mount's target; owners and modes come from the headers. */
  write(path: string, tar: Readable): Promise<void>;
}

/** One host's runtime. Every method that names a missing workload, volume or network to remove is a no-op. */
export interface Runtime {
  info(): Promise<RuntimeInfo>;
  /** Resolves when the runtime answers; rejects with the reason (errno code) otherwise. */
  ping(): Promise<void>;
  hasImage(image: string): Promise<boolean>;
  /** The image's content id (`sha256:…`), or undefined when the host lacks it: what a tag points at now. */
  imageId(image: string): Promise<string | undefined>;

  /** Makes the instance again, stopped, with its config written: whatever had its name goes. */
  createInstance(spec: InstanceSpec): Promise<string>;
  /**
   * Keeps the instance when it runs what `spec` says (image, config, mounts, limits); otherwise
   * stops it and makes it again, stopped. `created` says which.
   */
  ensureInstance(spec: InstanceSpec): Promise<{ id: string; created: boolean }>;
  start(name: string): Promise<void>;
  stop(name: string, timeoutSeconds?: number): Promise<void>;
  restart(name: string, timeoutSeconds?: number): Promise<void>;
  remove(name: string): Promise<void>;
  state(name: string): Promise<WorkloadState | undefined>;
  describe(name: string): Promise<WorkloadDetails | undefined>;
  /** Reads one small file out of a workload (created or running). */
  readFile(name: string, path: string): Promise<string>;
  /** Runs a command inside a running workload. */
  exec(name: string, command: string[], options?: { user?: string; env?: Record<string, string> }): Promise<RunResult>;
  stats(name: string): Promise<WorkloadStats>;
  /**
   * State, CPU time, memory and restarts in one reading that does not wait for a second one;
   * `signal` abandons the requests (a hung engine must not keep them open round after round).
   */
  sample(name: string, signal?: AbortSignal): Promise<WorkloadSample | undefined>;
  /** The workload's output as lines, following it when asked, until `signal` aborts. */
  logs(name: string, query: LogQuery, signal: AbortSignal): AsyncGenerator<LogLine>;
  /** Follows state changes of the namespace's workloads until `signal` aborts (or the stream drops). */
  events(namespace: string, onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): Promise<void>;
  /** The namespace's workloads (optionally of one kind label). */
  list(namespace: string, kind?: string): Promise<WorkloadState[]>;

  /** Runs a one-off to completion; its output (the tail) comes back, and piece by piece to `onOutput`. */
  run(spec: OneOffSpec, options?: { onOutput?: (text: string) => void }): Promise<RunResult>;
  /** Runs a one-off whose standard output is data: it flows into `stdout` with backpressure; `output` is its stderr. */
  runStreaming(spec: OneOffSpec, stdout: Writable): Promise<RunResult>;
  /** Mounts volumes into a carrier that never runs, for the duration of `work`, to read and write them. */
  withData<T>(spec: OneOffSpec, work: (data: DataAccess) => Promise<T>): Promise<T>;

  ensureVolume(name: string, labels: Record<string, string>): Promise<void>;
  volumeExists(name: string): Promise<boolean>;
  removeVolume(name: string): Promise<void>;
  listVolumes(namespace: string, kind?: string): Promise<{ name: string; labels: Record<string, string> }[]>;

  /** `internal`: a network with no route out, whose members reach only each other. */
  ensureNetwork(name: string, labels: Record<string, string>, options?: { internal?: boolean }): Promise<void>;
  /** Attaches a workload to a network once; `aliases` name it there. */
  connectNetwork(network: string, name: string, aliases: string[]): Promise<void>;
  disconnectNetwork(network: string, name: string): Promise<void>;
  removeNetwork(name: string): Promise<void>;
  /** Names of the namespace's networks of one kind. */
  listNetworks(namespace: string, kind: string): Promise<string[]>;

  /** Creates the managed database server, stopped; sized to the host. */
  createDatabaseServer(spec: DatabaseServerSpec): Promise<string>;
  /** Creates the managed reverse proxy, stopped, on the host's network, with its config file written. */
  createProxyServer(spec: ProxyServerSpec): Promise<string>;
  /** The host port a workload's port is published on, once it runs. */
  publishedPort(name: string, port: number): Promise<number | undefined>;
  /**
   * The workload's IPv4 address on a network, while it runs there; undefined when it is missing,
   * stopped or not on that network. It changes when the workload is made again (or restarted).
   */
  address(name: string, network: string): Promise<string | undefined>;
  /**
   * A TCP connection to a port on a running workload's own loopback, carried by the runtime's API
   * (connected once it emits `connect`). How Marina reaches a database server on another host without
   * opening its port to any network. Absent where the runtime has no such channel.
   */
  tunnel?(name: string): TunnelSocket;
}

/** What `Runtime.tunnel` returns: a stream node-postgres can drive like a socket. */
export interface TunnelSocket extends Duplex {
  connect(port: number): TunnelSocket;
}

/** PEM texts for a remote engine's mutual TLS: its CA, and Marina's client certificate and key. */
export interface RuntimeTls {
  ca: string;
  cert: string;
  key: string;
}

/** An engine over SSH: Marina's private key, and the host key's pinned fingerprint. */
export interface RuntimeSsh {
  privateKey: string;
  hostKeyFingerprint: string;
}

/** How Marina proves itself to a remote engine. */
export type RuntimeAccess = RuntimeTls | RuntimeSsh;

/** Makes the runtime of a host from its stored address (and TLS or SSH material for a remote engine). */
export type RuntimeFactory = (address: string, access?: RuntimeAccess) => Runtime;
