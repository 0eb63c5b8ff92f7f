import type { Readable, Writable } from 'node:stream';
import { MarinaError } from '../../platform/errors.js';
import type {
  ConfigFile,
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
import { DockerEngine, type EngineAccess, isNotFound } from './engine.js';
import { containerLogLines } from './logs.js';
import {
  databaseServerContainerSpec,
  instanceContainerSpec,
  LABEL_CONFIG,
  oneOffContainerSpec,
  proxyServerContainerSpec,
} from './specs.js';
import { type DockerStats, workloadSample, workloadStats } from './stats.js';
import { ExecTunnel } from './tcp-tunnel.js';

/** The runtime port on a Docker engine: instances, runs and servers are containers, data are volumes. */
export class DockerRuntime implements Runtime {
  readonly engine: DockerEngine;

  constructor(dockerHost: string, tls?: EngineAccess) {
    this.engine = new DockerEngine({ dockerHost, tls });
  }

  info(): Promise<RuntimeInfo> {
    return this.engine.info();
  }

  async ping(): Promise<void> {
    await this.engine.docker.ping();
  }

  hasImage(image: string): Promise<boolean> {
    return this.engine.hasImage(image);
  }

  imageId(image: string): Promise<string | undefined> {
    return this.engine.imageId(image);
  }

  /** Writes a config file into a created container; an image without its folder is not Odoo's layout. */
  private async writeConfig(id: string, file: ConfigFile, image: string): Promise<void> {
    try {
      await this.engine.putFile(id, file.dir, file.name, file.content, {
        uid: file.uid,
        gid: file.gid,
        mode: file.mode,
      });
    } catch (error) {
      if (isNotFound(error)) {
        throw new MarinaError(
          'MARINA_E_ODOO_VERSION_UNAVAILABLE',
          `The image ${image} has no ${file.dir}: it does not follow the official odoo image's layout (check the version catalog).`,
        );
      }
      throw error;
    }
  }

  async createInstance(spec: InstanceSpec): Promise<string> {
    const { container } = instanceContainerSpec(spec);
    await this.engine.remove(spec.name);
    const id = await this.engine.createContainer(container);
    await this.writeConfig(id, spec.config, spec.image);
    return id;
  }

  async ensureInstance(spec: InstanceSpec): Promise<{ id: string; created: boolean }> {
    const state = await this.engine.state(spec.name);
    const { hash } = instanceContainerSpec(spec);
    if (state && state.labels[LABEL_CONFIG] === hash) return { id: state.id, created: false };
    if (state?.running) await this.engine.stop(spec.name);
    return { id: await this.createInstance(spec), created: true };
  }

  start(name: string): Promise<void> {
    return this.engine.start(name);
  }

  stop(name: string, timeoutSeconds?: number): Promise<void> {
    return this.engine.stop(name, timeoutSeconds);
  }

  restart(name: string, timeoutSeconds?: number): Promise<void> {
    return this.engine.restart(name, timeoutSeconds);
  }

  remove(name: string): Promise<void> {
    return this.engine.remove(name);
  }

  state(name: string): Promise<WorkloadState | undefined> {
    return this.engine.state(name);
  }

  async describe(name: string): Promise<WorkloadDetails | undefined> {
    try {
      const info = await this.engine.docker.getContainer(name).inspect();
      const bindings = info.HostConfig.PortBindings as Record<string, { HostPort?: string }[] | undefined> | undefined;
      return {
        id: info.Id,
        labels: info.Config.Labels ?? {},
        running: info.State.Running,
        startedAt: info.State.StartedAt,
        mounts: info.Mounts.map((m) => ({ type: m.Type, source: m.Name ?? m.Source, target: m.Destination })),
        publishedPorts: Object.fromEntries(
          Object.entries(bindings ?? {}).map(([key, value]) => [
            Number.parseInt(key, 10),
            value?.[0]?.HostPort ? Number(value[0].HostPort) : undefined,
          ]),
        ),
        memoryBytes: info.HostConfig.Memory ?? 0,
        nanoCpus: info.HostConfig.NanoCpus ?? 0,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  readFile(name: string, path: string): Promise<string> {
    return this.engine.readFile(name, path);
  }

  exec(name: string, command: string[], options?: { user?: string; env?: Record<string, string> }): Promise<RunResult> {
    return this.engine.exec(name, command, options);
  }

  async stats(name: string): Promise<WorkloadStats> {
    return workloadStats((await this.engine.stats(name)) as unknown as DockerStats);
  }

  async sample(name: string, signal?: AbortSignal): Promise<WorkloadSample | undefined> {
    const container = this.engine.docker.getContainer(name);
    let info: Awaited<ReturnType<typeof container.inspect>>;
    try {
      info = await container.inspect({ abortSignal: signal });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const running = info.State.Running;
    // one-shot: Docker answers at once instead of waiting about a second for a second CPU reading.
    const stats = running
      ? ((await container
          .stats({ stream: false, 'one-shot': true, abortSignal: signal } as { stream: false; 'one-shot': boolean })
          .catch(() => undefined)) as DockerStats | undefined)
      : undefined;
    return workloadSample(running, info.RestartCount ?? 0, stats);
  }

  logs(name: string, query: LogQuery, signal: AbortSignal): AsyncGenerator<LogLine> {
    return containerLogLines(this.engine.docker, name, query, signal);
  }

  events(namespace: string, onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): Promise<void> {
    return this.engine.events(namespace, onEvent, signal);
  }

  list(namespace: string, kind?: string): Promise<WorkloadState[]> {
    return this.engine.listManaged(namespace, kind);
  }

  async run(spec: OneOffSpec, options: { onOutput?: (text: string) => void } = {}): Promise<RunResult> {
    const { config } = spec;
    await this.engine.remove(spec.name);
    return this.engine.run(oneOffContainerSpec(spec), {
      beforeStart: config ? (id) => this.writeConfig(id, config, spec.image) : undefined,
      onOutput: options.onOutput,
    });
  }

  async runStreaming(spec: OneOffSpec, stdout: Writable): Promise<RunResult> {
    await this.engine.remove(spec.name);
    return this.engine.runStreaming(oneOffContainerSpec(spec), stdout);
  }

  /** A container that is never started: it only holds the volumes mounted, for Docker's archive API. */
  async withData<T>(spec: OneOffSpec, work: (data: DataAccess) => Promise<T>): Promise<T> {
    await this.engine.remove(spec.name);
    const id = await this.engine.createContainer(oneOffContainerSpec(spec));
    try {
      return await work({
        read: (path) => this.engine.getArchive(id, path),
        write: (path, tar: Readable) => this.engine.putArchive(id, path, tar),
      });
    } finally {
      await this.engine.remove(id);
    }
  }

  ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    return this.engine.ensureVolume(name, labels);
  }

  volumeExists(name: string): Promise<boolean> {
    return this.engine.volumeExists(name);
  }

  removeVolume(name: string): Promise<void> {
    return this.engine.removeVolume(name);
  }

  listVolumes(namespace: string, kind?: string): Promise<{ name: string; labels: Record<string, string> }[]> {
    return this.engine.listManagedVolumes(namespace, kind);
  }

  ensureNetwork(name: string, labels: Record<string, string>, options?: { internal?: boolean }): Promise<void> {
    return this.engine.ensureNetwork(name, labels, options);
  }

  connectNetwork(network: string, name: string, aliases: string[]): Promise<void> {
    return this.engine.networks.connect(network, name, aliases);
  }

  disconnectNetwork(network: string, name: string): Promise<void> {
    return this.engine.networks.disconnect(network, name);
  }

  removeNetwork(name: string): Promise<void> {
    return this.engine.networks.remove(name);
  }

  listNetworks(namespace: string, kind: string): Promise<string[]> {
    return this.engine.networks.listManaged(namespace, kind);
  }

  async createDatabaseServer(spec: DatabaseServerSpec): Promise<string> {
    await this.engine.remove(spec.name);
    return this.engine.createContainer(databaseServerContainerSpec(spec, await this.engine.info()));
  }

  async createProxyServer(spec: ProxyServerSpec): Promise<string> {
    await this.engine.remove(spec.name);
    const id = await this.engine.createContainer(proxyServerContainerSpec(spec, await this.engine.info()));
    await this.engine.putFile(id, spec.config.dir, spec.config.name, spec.config.content, spec.config);
    return id;
  }

  publishedPort(name: string, port: number): Promise<number | undefined> {
    return this.engine.publishedPort(name, port);
  }

  address(name: string, network: string): Promise<string | undefined> {
    return this.engine.address(name, network);
  }

  tunnel(name: string): TunnelSocket {
    return new ExecTunnel(this.engine.docker, name);
  }
}
