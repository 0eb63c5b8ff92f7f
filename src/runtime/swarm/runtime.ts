import { Readable, type Writable } from 'node:stream';
import tarStream from 'tar-stream';
import { MarinaError } from '../../platform/errors.js';
import type { DockerRuntime } from '../docker/runtime.js';
import type { SwarmEngine } from '../docker/swarm.js';
import { firstFileOfTar } from '../docker/tar-file.js';
import type {
  DataAccess,
  DatabaseServerSpec,
  InstanceSpec,
  LogLine,
  LogQuery,
  OneOffSpec,
  ProxyServerSpec,
  RunResult,
  Runtime,
  RuntimeEvent,
  RuntimeInfo,
  TunnelSocket,
  WorkloadDetails,
  WorkloadSample,
  WorkloadState,
  WorkloadStats,
} from '../port.js';
import { configVolumeOf, instanceServiceSpec, TASK_SERVICE_ID, TASK_SERVICE_NAME } from './service-spec.js';
import { SwarmServices } from './services.js';

/**
 * The runtime port on one node of a Docker Swarm. Instances are services of one replica pinned to
 * the node (zero replicas when stopped), so that Swarm restarts a crashed Odoo and never runs one
 * twice; what runs once (tools, carriers), volumes and the node's database server are the node's
 * own containers, reached through its engine. Networks are overlays, attachable by those containers.
 */
export class SwarmRuntime implements Runtime {
  private readonly services: SwarmServices;

  constructor(
    /** The node's own engine. */
    readonly node: DockerRuntime,
    /** A manager of the swarm that answers (asked again each time: managers come and go). */
    manager: () => Promise<SwarmEngine>,
    /** The host id the node is labelled with: instances are pinned to it. */
    readonly hostId: string,
  ) {
    this.services = new SwarmServices(async () => (await manager()).docker, node.engine.docker);
  }

  info(): Promise<RuntimeInfo> {
    return this.node.info();
  }
  ping(): Promise<void> {
    return this.node.ping();
  }
  hasImage(image: string): Promise<boolean> {
    return this.node.hasImage(image);
  }
  imageId(image: string): Promise<string | undefined> {
    return this.node.imageId(image);
  }

  /** odoo.conf into the instance's config volume on the node, with its owner and mode. */
  private async writeConfig(spec: InstanceSpec): Promise<void> {
    const volume = configVolumeOf(spec.name);
    await this.node.ensureVolume(volume, spec.labels);
    const pack = tarStream.pack();
    const { config } = spec;
    pack.entry({ name: config.name, mode: config.mode, uid: config.uid, gid: config.gid }, config.content);
    pack.finalize();
    await this.node.withData(
      {
        name: `${spec.name}-conf-writer`,
        image: spec.image,
        command: ['true'],
        labels: spec.labels,
        network: 'none',
        mounts: [{ type: 'volume', source: volume, target: '/conf' }],
        privileges: 'none',
      },
      (data) => data.write('/conf', Readable.from(pack as unknown as AsyncIterable<Buffer>)),
    );
  }

  async createInstance(spec: InstanceSpec): Promise<string> {
    await this.services.remove(spec.name);
    await this.writeConfig(spec);
    return this.services.create(instanceServiceSpec(spec, this.hostId, 0).spec);
  }

  async ensureInstance(spec: InstanceSpec): Promise<{ id: string; created: boolean }> {
    const service = await this.services.inspect(spec.name);
    if (service && service.hash === instanceServiceSpec(spec, this.hostId, 0).hash)
      return { id: service.id, created: false };
    return { id: await this.createInstance(spec), created: true };
  }

  async start(name: string): Promise<void> {
    if (!(await this.services.inspect(name))) return this.node.start(name);
    await this.services.scale(name, 1);
    await this.requireNoNewPrivileges(name);
  }

  /**
   * Tenants are hostile: a task that could gain privileges through a setuid program is stopped.
   * Older engines cannot set no-new-privileges per service; their daemon.json must set it for all.
   */
  private async requireNoNewPrivileges(name: string): Promise<void> {
    const task = await this.services.container(name, true);
    if (!task) return;
    const status = await this.node.exec(task, ['cat', '/proc/1/status']);
    if (/^NoNewPrivs:\s*1$/m.test(status.output)) return;
    await this.services.scale(name, 0);
    throw new MarinaError(
      'MARINA_E_NODE_INSECURE',
      `${name} was stopped: the engine of host ${this.hostId} runs it without no-new-privileges.`,
    );
  }

  async stop(name: string, timeoutSeconds?: number): Promise<void> {
    if (!(await this.services.inspect(name))) return this.node.stop(name, timeoutSeconds);
    if (timeoutSeconds === undefined) return this.services.scale(name, 0);
    // Swarm gives a task the service's grace period (10 s); a stop asked to be quicker (a swap's or
    // a move's downtime) stops the task's container itself, once Swarm no longer wants it running.
    const task = await this.services.container(name, true);
    await this.services.scale(name, 0, {
      desired: async () => {
        if (task) await this.node.stop(task, timeoutSeconds).catch(() => undefined);
      },
      // Its container no longer runs: Odoo is stopped, whatever Swarm reports yet.
      enough: async () => task !== undefined && !(await this.node.state(task))?.running,
    });
  }

  async restart(name: string, timeoutSeconds?: number): Promise<void> {
    if (!(await this.services.inspect(name))) return this.node.restart(name, timeoutSeconds);
    await this.services.scale(name, 0);
    await this.services.scale(name, 1);
    await this.requireNoNewPrivileges(name);
  }

  async remove(name: string): Promise<void> {
    if (await this.services.inspect(name)) {
      await this.services.remove(name);
      await this.node.removeVolume(configVolumeOf(name));
      return;
    }
    await this.node.remove(name);
  }

  /** After forget: waits until the service's containers left its node, then removes its config volume. */
  async removeForgotten(name: string): Promise<void> {
    // Not services.remove: the name may already be a new service's, on another node (a move).
    await this.services.containersGone(name);
    await this.node.removeVolume(configVolumeOf(name));
  }

  /**
   * The instance's service goes, through a manager only: its node is lost (the recovery of #16), or
   * a move needs the name now and the node's cleanup can wait (removeForgotten).
   */
  forget(name: string): Promise<void> {
    return this.services.forget(name);
  }

  async state(name: string): Promise<WorkloadState | undefined> {
    const service = await this.services.inspect(name);
    if (!service) return this.node.state(name);
    const task = await this.services.container(name);
    const state = task ? await this.node.state(task) : undefined;
    if (!state || service.replicas === 0)
      return { ...(state ?? emptyState), running: false, id: service.id, name, labels: service.labels };
    return { ...state, id: service.id, name };
  }

  async describe(name: string): Promise<WorkloadDetails | undefined> {
    const service = await this.services.inspect(name);
    if (!service) return this.node.describe(name);
    const state = await this.state(name);
    return {
      id: service.id,
      labels: service.labels,
      running: state?.running ?? false,
      startedAt: state?.startedAt?.toISOString() ?? '0001-01-01T00:00:00Z',
      mounts: service.mounts.filter((m) => m.source !== configVolumeOf(name)),
      publishedPorts: service.publishedPorts,
      memoryBytes: service.memoryBytes,
      nanoCpus: service.nanoCpus,
    };
  }

  /** The running task's container, or the workload itself when it is not an instance. */
  private async target(name: string): Promise<string> {
    if (!(await this.services.inspect(name))) return name;
    return (await this.services.container(name, true)) ?? name;
  }

  async readFile(name: string, path: string): Promise<string> {
    const service = await this.services.inspect(name);
    const config = service?.mounts.find((m) => m.source === configVolumeOf(name));
    if (!service || !config || !path.startsWith(`${config.target}/`))
      return this.node.readFile(await this.target(name), path);
    // From the config volume: the file is there while the instance is stopped too.
    return this.node.withData(
      {
        name: `${name}-conf-reader`,
        image: service.image,
        command: ['true'],
        labels: service.labels,
        network: 'none',
        mounts: [{ type: 'volume', source: config.source, target: config.target, readOnly: true }],
        privileges: 'none',
      },
      async (data) => {
        const tar = await data.read(path);
        if (!tar) throw Object.assign(new Error(`${path} is not in ${name}`), { statusCode: 404 });
        return firstFileOfTar(tar, path);
      },
    );
  }

  async exec(name: string, command: string[], options?: { user?: string; env?: Record<string, string> }) {
    return this.node.exec(await this.target(name), command, options);
  }
  async stats(name: string): Promise<WorkloadStats> {
    return this.node.stats(await this.target(name));
  }
  async sample(name: string, signal?: AbortSignal): Promise<WorkloadSample | undefined> {
    const service = await this.services.inspect(name);
    if (!service) return this.node.sample(name, signal);
    const task = service.replicas > 0 ? await this.services.container(name, true) : undefined;
    if (!task) return { running: false, cpuSecondsTotal: null, memoryBytes: null, memoryLimitBytes: null, restarts: 0 };
    return this.node.sample(task, signal);
  }
  async *logs(name: string, query: LogQuery, signal: AbortSignal): AsyncGenerator<LogLine> {
    yield* this.node.logs(await this.target(name), query, signal);
  }

  /** The node's container events, a task's under its service's id and name (what the instance is). */
  events(namespace: string, onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): Promise<void> {
    return this.node.events(
      namespace,
      (event) => {
        const serviceId = event.labels[TASK_SERVICE_ID];
        onEvent(serviceId ? { ...event, id: serviceId, ofTask: true } : event);
      },
      signal,
    );
  }

  async list(namespace: string, kind?: string): Promise<WorkloadState[]> {
    const containers = (await this.node.list(namespace, kind)).filter((c) => !c.labels[TASK_SERVICE_NAME]);
    const instances = await this.services.list(namespace, this.hostId, kind);
    const states = await Promise.all(instances.map((name) => this.state(name)));
    return [...containers, ...states.filter((s): s is WorkloadState => s !== undefined)];
  }

  run(spec: OneOffSpec, options?: { onOutput?: (text: string) => void }): Promise<RunResult> {
    return this.node.run(spec, options);
  }
  runStreaming(spec: OneOffSpec, stdout: Writable): Promise<RunResult> {
    return this.node.runStreaming(spec, stdout);
  }
  withData<T>(spec: OneOffSpec, work: (data: DataAccess) => Promise<T>): Promise<T> {
    return this.node.withData(spec, work);
  }

  ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    return this.node.ensureVolume(name, labels);
  }
  volumeExists(name: string): Promise<boolean> {
    return this.node.volumeExists(name);
  }
  removeVolume(name: string): Promise<void> {
    return this.node.removeVolume(name);
  }
  listVolumes(namespace: string, kind?: string) {
    return this.node.listVolumes(namespace, kind);
  }

  ensureNetwork(name: string, labels: Record<string, string>, options?: { internal?: boolean }): Promise<void> {
    return this.services.ensureOverlay(name, labels, options?.internal ?? false);
  }
  async connectNetwork(network: string, name: string, aliases: string[]): Promise<void> {
    if (await this.services.inspect(name)) return this.services.connect(name, network, aliases);
    return this.node.connectNetwork(network, name, aliases);
  }
  async disconnectNetwork(network: string, name: string): Promise<void> {
    if (await this.services.inspect(name)) return this.services.disconnect(name, network);
    return this.node.disconnectNetwork(network, name);
  }
  removeNetwork(name: string): Promise<void> {
    return this.services.removeOverlay(name);
  }
  listNetworks(namespace: string, kind: string): Promise<string[]> {
    return this.services.listOverlays(namespace, kind);
  }

  createDatabaseServer(spec: DatabaseServerSpec): Promise<string> {
    return this.node.createDatabaseServer(spec);
  }
  createProxyServer(spec: ProxyServerSpec): Promise<string> {
    return this.node.createProxyServer(spec);
  }
  async publishedPort(name: string, port: number): Promise<number | undefined> {
    return this.node.publishedPort(await this.target(name), port);
  }
  async address(name: string, network: string): Promise<string | undefined> {
    return this.node.address(await this.target(name), network);
  }

  /** Helper containers (the database server) are the node's own containers, not services. */
  tunnel(name: string): TunnelSocket {
    return this.node.tunnel(name);
  }
}

const emptyState: WorkloadState = {
  id: '',
  name: '',
  status: 'created',
  running: false,
  restarting: false,
  exitCode: 0,
  startedAt: null,
  health: null,
  labels: {},
};
