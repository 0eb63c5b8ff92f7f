/**
 * A STAND-IN runtime in memory, for fast tests of what Marina does around the runtime (job recovery
 * branches, status tracking). It runs no image: a command is one of a few built-in programs (true,
 * false, echo, cat, sleep) or one a test registers. It passes the Docker runtime's contract suite.
 */
import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import type { Writable } from 'node:stream';
import { MemoryFiles, type ProgramFiles, workloadFiles } from './memory-files.js';
import { builtins, type Program, sha256Hex, stamp } from './memory-programs.js';
import {
  type DataAccess,
  type DatabaseServerSpec,
  type InstanceSpec,
  LABEL_KIND,
  LABEL_NAMESPACE,
  type LogLine,
  type LogQuery,
  type Mount,
  type OneOffSpec,
  type ProxyServerSpec,
  type RunResult,
  type Runtime,
  type RuntimeEvent,
  type RuntimeInfo,
  type WorkloadDetails,
  type WorkloadSample,
  type WorkloadState,
  type WorkloadStats,
} from './port.js';

export type { Program, ProgramCall } from './memory-programs.js';

interface Workload {
  id: string;
  name: string;
  image: string;
  command: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  mounts: Mount[];
  files: Map<string, string>;
  memoryBytes: number;
  nanoCpus: number;
  ports: Record<number, number | undefined>;
  running: boolean;
  exitCode: number;
  startedAt: Date | null;
  log: LogLine[];
  stopping?: AbortController;
  exited?: Promise<void>;
  networks: Set<string>;
  /** Its address on each network while it runs: a new one after every start, as Docker may give. */
  addresses: Map<string, string>;
}

const DEFAULT_MEMORY = 2 * 1024 ** 3;
const notFound = (what: string): Error => Object.assign(new Error(`no such ${what}`), { statusCode: 404 });

/** One host's runtime in memory. */
export class MemoryRuntime implements Runtime {
  readonly images: Set<string>;
  readonly programs = new Map<string, Program>(Object.entries(builtins));
  /** Set to an errno code (ECONNREFUSED…) to make the host unreachable. */
  unreachable: string | undefined;
  private readonly workloads = new Map<string, Workload>();
  private readonly volumes = new Map<string, { labels: Record<string, string>; files: MemoryFiles }>();
  private readonly networks = new Map<string, { labels: Record<string, string>; internal: boolean }>();
  private readonly listeners = new Set<(event: RuntimeEvent) => void>();
  private nextPort = 40000;
  private nextAddress = 2;

  constructor(options: { images?: string[] } = {}) {
    this.images = new Set(options.images ?? []);
  }

  async info(): Promise<RuntimeInfo> {
    await this.ping();
    return { version: 'memory', apiVersion: '1', os: 'memory', cpus: 2, memoryBytes: 8 * 1024 ** 3, name: 'memory' };
  }

  async ping(): Promise<void> {
    if (this.unreachable) throw Object.assign(new Error(this.unreachable), { code: this.unreachable });
  }

  async hasImage(image: string): Promise<boolean> {
    return (await this.imageId(image)) !== undefined;
  }

  async imageId(image: string): Promise<string | undefined> {
    return this.images.has(image) ? `sha256:${sha256Hex(image)}` : undefined;
  }

  private emit(workload: Workload, action: string): void {
    const event = {
      id: workload.id,
      action,
      labels: { ...workload.labels },
      exitCode: workload.exitCode,
      time: new Date(),
    };
    for (const listener of this.listeners) listener(event);
  }

  private create(spec: {
    name: string;
    image: string;
    command: string[];
    env?: Record<string, string>;
    labels: Record<string, string>;
    mounts?: Mount[];
    network?: string;
    memoryBytes?: number;
    nanoCpus?: number;
    ports?: Record<number, number | undefined>;
  }): Workload {
    if (this.workloads.has(spec.name)) throw Object.assign(new Error(`${spec.name} exists`), { statusCode: 409 });
    if (!this.images.has(spec.image)) throw notFound(`image ${spec.image}`);
    for (const mount of spec.mounts ?? []) if (mount.type === 'volume') this.volumeOf(mount.source, {});
    const workload: Workload = {
      id: randomUUID().replace(/-/g, ''),
      name: spec.name,
      image: spec.image,
      command: spec.command,
      env: spec.env ?? {},
      labels: { ...spec.labels },
      mounts: spec.mounts ?? [],
      files: new Map(),
      memoryBytes: spec.memoryBytes ?? DEFAULT_MEMORY,
      nanoCpus: spec.nanoCpus ?? 2e9,
      ports: spec.ports ?? {},
      running: false,
      exitCode: 0,
      startedAt: null,
      log: [],
      networks: new Set(spec.network ? [spec.network] : []),
      addresses: new Map(),
    };
    this.workloads.set(spec.name, workload);
    this.emit(workload, 'create');
    return workload;
  }

  private find(name: string): Workload | undefined {
    return this.workloads.get(name) ?? [...this.workloads.values()].find((w) => w.id === name);
  }

  private get(name: string): Workload {
    const workload = this.find(name);
    if (!workload) throw notFound(`workload ${name}`);
    return workload;
  }

  private volumeOf(name: string, labels: Record<string, string>) {
    let volume = this.volumes.get(name);
    if (!volume) {
      volume = { labels, files: new MemoryFiles() };
      this.volumes.set(name, volume);
    }
    return volume;
  }

  private filesOf(workload: Pick<Workload, 'files' | 'mounts'>): ProgramFiles {
    return workloadFiles(workload, (name) => this.volumeOf(name, {}).files);
  }

  async createInstance(spec: InstanceSpec): Promise<string> {
    await this.remove(spec.name);
    const workload = this.create({
      ...spec,
      labels: { ...spec.labels, 'io.marina.config': sha256Hex(JSON.stringify(spec)) },
      memoryBytes: spec.limits.memoryBytes,
      nanoCpus: spec.limits.nanoCpus,
      ports: {
        ...(spec.http ? { [spec.http.port]: spec.http.hostPort || this.nextPort++ } : {}),
        ...(spec.gevent ? { [spec.gevent.port]: spec.gevent.hostPort || this.nextPort++ } : {}),
      },
    });
    workload.files.set(posix.join(spec.config.dir, spec.config.name), spec.config.content);
    return workload.id;
  }

  async ensureInstance(spec: InstanceSpec): Promise<{ id: string; created: boolean }> {
    const current = this.workloads.get(spec.name);
    if (current && current.labels['io.marina.config'] === sha256Hex(JSON.stringify(spec)))
      return { id: current.id, created: false };
    if (current?.running) await this.stop(spec.name);
    return { id: await this.createInstance(spec), created: true };
  }

  /** Starts the workload's program; its end is the workload's exit. */
  async start(name: string): Promise<void> {
    const workload = this.get(name);
    if (workload.running) return;
    const [program, ...args] = workload.command;
    const run = this.programs.get(program ?? '');
    const stopping = new AbortController();
    Object.assign(workload, { running: true, startedAt: new Date(), stopping });
    this.emit(workload, 'start');
    const line = (stream: 'stdout' | 'stderr') => (text: string) => {
      for (const part of text.split('\n').slice(0, text.endsWith('\n') ? -1 : undefined))
        workload.log.push({ stream, timestamp: stamp(), text: part });
    };
    workload.exited = (async () => {
      const exitCode = run
        ? await run({
            args,
            env: workload.env,
            files: this.filesOf(workload),
            stdout: line('stdout'),
            stderr: line('stderr'),
            signal: stopping.signal,
          })
        : 127;
      if (!run) line('stderr')(`${program}: not found\n`);
      Object.assign(workload, { running: false, exitCode, startedAt: null, stopping: undefined });
      workload.addresses.clear();
      this.emit(workload, 'die');
    })();
  }

  async stop(name: string): Promise<void> {
    const workload = this.get(name);
    if (!workload.running) return;
    workload.stopping?.abort();
    await workload.exited;
    this.emit(workload, 'stop');
  }

  async restart(name: string): Promise<void> {
    await this.stop(name);
    await this.start(name);
    this.emit(this.get(name), 'restart');
  }

  async remove(name: string): Promise<void> {
    const workload = this.find(name);
    if (!workload) return;
    workload.stopping?.abort();
    await workload.exited;
    this.workloads.delete(workload.name);
    this.emit(workload, 'destroy');
  }

  async state(name: string): Promise<WorkloadState | undefined> {
    const w = this.find(name);
    if (!w) return undefined;
    const status = w.running ? 'running' : w.exited ? 'exited' : 'created';
    return {
      id: w.id,
      name: w.name,
      status,
      running: w.running,
      restarting: false,
      exitCode: w.exitCode,
      startedAt: w.startedAt,
      health: null,
      labels: { ...w.labels },
    };
  }

  async describe(name: string): Promise<WorkloadDetails | undefined> {
    const w = this.find(name);
    if (!w) return undefined;
    return {
      id: w.id,
      labels: { ...w.labels },
      running: w.running,
      startedAt: (w.startedAt ?? new Date(0)).toISOString(),
      mounts: w.mounts.map((m) => ({ type: m.type, source: m.source, target: m.target })),
      publishedPorts: { ...w.ports },
      memoryBytes: w.memoryBytes,
      nanoCpus: w.nanoCpus,
    };
  }

  async readFile(name: string, path: string): Promise<string> {
    const content = this.filesOf(this.get(name)).read(path);
    if (content === undefined) throw notFound(`file ${path}`);
    return content;
  }

  async exec(name: string, command: string[]): Promise<RunResult> {
    const workload = this.get(name);
    if (!workload.running) throw Object.assign(new Error(`${name} is not running`), { statusCode: 409 });
    return this.call(command, workload.env, this.filesOf(workload));
  }

  async stats(name: string): Promise<WorkloadStats> {
    const w = this.get(name);
    return { cpuPercent: 0, memoryBytes: 0, memoryLimitBytes: w.memoryBytes, networkRxBytes: 0, networkTxBytes: 0 };
  }

  async sample(name: string): Promise<WorkloadSample | undefined> {
    const w = this.workloads.get(name);
    const figures = w?.running ? { cpuSecondsTotal: 0, memoryBytes: 0 } : { cpuSecondsTotal: null, memoryBytes: null };
    return w && { running: w.running, memoryLimitBytes: w.memoryBytes, restarts: 0, ...figures };
  }

  async *logs(name: string, query: LogQuery, signal: AbortSignal): AsyncGenerator<LogLine> {
    const workload = this.get(name);
    const since = query.since instanceof Date ? query.since.toISOString() : query.since;
    const wanted = (l: LogLine) =>
      (!since || l.timestamp >= since) && (!query.until || l.timestamp <= query.until.toISOString());
    const lines = workload.log.filter(wanted);
    let next = workload.log.length;
    yield* query.tail === undefined ? lines : lines.slice(-query.tail || lines.length);
    while (query.follow && !signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (; next < workload.log.length && !signal.aborted; next++) yield workload.log[next] as LogLine;
    }
  }

  async events(namespace: string, onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): Promise<void> {
    const listener = (event: RuntimeEvent) => {
      if (event.labels[LABEL_NAMESPACE] === namespace) onEvent(event);
    };
    this.listeners.add(listener);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.listeners.delete(listener);
  }

  async list(namespace: string, kind?: string): Promise<WorkloadState[]> {
    const states = await Promise.all([...this.workloads.keys()].map((name) => this.state(name)));
    return states.filter(
      (s): s is WorkloadState =>
        s !== undefined && s.labels[LABEL_NAMESPACE] === namespace && (!kind || s.labels[LABEL_KIND] === kind),
    );
  }

  /** Runs a command to its end against a set of files. */
  private async call(command: string[], env: Record<string, string>, files: ProgramFiles, out?: Writable) {
    const [name, ...args] = command;
    const program = this.programs.get(name ?? '');
    let output = '';
    const keep = (text: string) => {
      output = (output + text).slice(-1024 * 1024);
    };
    if (!program) return { exitCode: 127, output: `${name}: not found\n` };
    const exitCode = await program({
      args,
      env,
      files,
      stdout: out ? (text) => out.write(text) : keep,
      stderr: keep,
      signal: new AbortController().signal,
    });
    return { exitCode, output };
  }

  private oneOff(spec: OneOffSpec): Workload {
    const workload = this.create({
      ...spec,
      command: [...(spec.entrypoint ?? []), ...spec.command],
      memoryBytes: spec.limits?.memoryBytes,
      nanoCpus: spec.limits?.nanoCpus,
    });
    if (spec.config) workload.files.set(posix.join(spec.config.dir, spec.config.name), spec.config.content);
    return workload;
  }

  async run(spec: OneOffSpec, options: { onOutput?: (text: string) => void } = {}): Promise<RunResult> {
    await this.remove(spec.name);
    const workload = this.oneOff(spec);
    try {
      const result = await this.call(workload.command, workload.env, this.filesOf(workload));
      if (result.output) options.onOutput?.(result.output);
      return result;
    } finally {
      await this.remove(workload.id);
    }
  }

  async runStreaming(spec: OneOffSpec, stdout: Writable): Promise<RunResult> {
    await this.remove(spec.name);
    const workload = this.oneOff(spec);
    try {
      const result = await this.call(workload.command, workload.env, this.filesOf(workload), stdout);
      await new Promise<void>((resolve) => stdout.end(resolve));
      return result;
    } finally {
      await this.remove(workload.id);
    }
  }

  async withData<T>(spec: OneOffSpec, work: (data: DataAccess) => Promise<T>): Promise<T> {
    await this.remove(spec.name);
    const workload = this.oneOff(spec);
    const files = this.filesOf(workload);
    try {
      return await work({
        read: async (path) => {
          const at = files.mountOf(path);
          return at?.files.tar(at.relative);
        },
        write: async (path, tar) => {
          const at = files.mountOf(path);
          if (!at) throw notFound(`folder ${path}`);
          if (!at.files.isDirectory(at.relative)) throw notFound(`folder ${path}`);
          if (at.mount.readOnly) throw Object.assign(new Error(`${path} is read-only`), { statusCode: 403 });
          await at.files.extract(at.relative, tar);
        },
      });
    } finally {
      await this.remove(workload.id);
    }
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    this.volumeOf(name, labels);
  }

  async volumeExists(name: string): Promise<boolean> {
    return this.volumes.has(name);
  }

  async removeVolume(name: string): Promise<void> {
    const user = [...this.workloads.values()].find((w) => w.mounts.some((m) => m.source === name));
    if (user) throw Object.assign(new Error(`volume ${name} is in use by ${user.name}`), { statusCode: 409 });
    this.volumes.delete(name);
  }

  async listVolumes(namespace: string, kind?: string) {
    return [...this.volumes.entries()]
      .filter(([, v]) => v.labels[LABEL_NAMESPACE] === namespace && (!kind || v.labels[LABEL_KIND] === kind))
      .map(([name, v]) => ({ name, labels: { ...v.labels } }));
  }

  async ensureNetwork(name: string, labels: Record<string, string>, options: { internal?: boolean } = {}) {
    if (!this.networks.has(name)) this.networks.set(name, { labels, internal: options.internal ?? false });
  }

  async connectNetwork(network: string, name: string): Promise<void> {
    if (!this.networks.has(network)) throw notFound(`network ${network}`);
    this.get(name).networks.add(network);
  }

  async disconnectNetwork(network: string, name: string): Promise<void> {
    this.find(name)?.networks.delete(network);
    this.find(name)?.addresses.delete(network);
  }

  async removeNetwork(name: string): Promise<void> {
    this.networks.delete(name);
  }

  async listNetworks(namespace: string, kind: string): Promise<string[]> {
    return [...this.networks.entries()]
      .filter(([, n]) => n.labels[LABEL_NAMESPACE] === namespace && n.labels[LABEL_KIND] === kind)
      .map(([name]) => name);
  }

  /** The names of the networks a workload is attached to (for tests). */
  networksOf(name: string): string[] {
    return [...this.get(name).networks];
  }

  async createDatabaseServer(spec: DatabaseServerSpec): Promise<string> {
    await this.remove(spec.name);
    const host = await this.info();
    return this.create({
      ...spec,
      command: ['sleep', 'infinity'],
      mounts: [{ type: 'volume', source: spec.volume, target: spec.dataDir }],
      memoryBytes: Math.floor(host.memoryBytes * 0.75),
      nanoCpus: host.cpus * 1e9,
      ports: { [spec.port]: this.nextPort++ },
    }).id;
  }

  /** Runs no proxy: it sleeps, holding its mounts and the config file written into it. */
  async createProxyServer(spec: ProxyServerSpec): Promise<string> {
    await this.remove(spec.name);
    const host = await this.info();
    const workload = this.create({ ...spec, command: ['sleep', 'infinity'], memoryBytes: host.memoryBytes / 2 });
    workload.files.set(posix.join(spec.config.dir, spec.config.name), spec.config.content);
    return workload.id;
  }

  async publishedPort(name: string, port: number): Promise<number | undefined> {
    const workload = this.get(name);
    return workload.running ? workload.ports[port] : undefined;
  }

  /** A made-up address (nothing listens there): enough for what Marina does with it. */
  async address(name: string, network: string): Promise<string | undefined> {
    const workload = this.find(name);
    if (!workload?.running || !workload.networks.has(network)) return undefined;
    let address = workload.addresses.get(network);
    if (!address) {
      const n = this.nextAddress++;
      address = `10.99.${(n >> 8) & 255}.${n & 255}`;
      workload.addresses.set(network, address);
    }
    return address;
  }
}
