import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Docker from 'dockerode';
import tarStream from 'tar-stream';
import {
  LABEL_KIND,
  LABEL_NAMESPACE,
  type RunResult,
  type RuntimeEvent,
  type RuntimeInfo,
  type WorkloadState,
} from '../port.js';
import { StdoutDemux } from './demux.js';
import { followEvents } from './events.js';
import { type EngineLocation, parseDockerHost } from './location.js';
import { DockerNetworks } from './networks.js';
import { firstFileOfTar } from './tar-file.js';

export { LABEL_ID, LABEL_KIND, LABEL_MANAGED, LABEL_NAMESPACE, type RunResult } from '../port.js';
export type { EngineAccess, EngineLocation, EngineSsh, EngineTls } from './location.js';
/** The port's names for what Docker calls container events and states. */
export type ContainerEvent = RuntimeEvent;
export type ContainerState = WorkloadState;
export type EngineInfo = RuntimeInfo;

export interface ContainerSpec {
  name: string;
  image: string;
  cmd?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  labels: Record<string, string>;
  user?: string;
  network?: string;
  networkAliases?: string[];
  /** The host's own network stack instead of `network` (the managed proxy: real ports, loopback). */
  hostNetwork?: boolean;
  mounts?: { type: 'volume' | 'bind'; source: string; target: string; readOnly?: boolean }[];
  ports?: { container: number; hostIp: string; hostPort: number }[];
  /** Defaults to DEFAULT_LIMITS when not given: every container has a memory and CPU limit. */
  memoryBytes?: number;
  nanoCpus?: number;
  pidsLimit?: number;
  /** The container's CPU weight against the others (unset: the engine's 1024). */
  cpuShares?: number;
  /**
   * Capabilities kept on top of none (every container drops ALL). Unset: ROOT_HELPER_CAPABILITIES,
   * what a helper running as root needs to handle files of other owners on volumes.
   */
  capAdd?: string[];
  restart?: 'no' | 'unless-stopped' | 'on-failure';
  /** Run under the engine's init (tini): it forwards signals to the image's entrypoint and reaps. */
  init?: boolean;
  healthcheck?: {
    test: string[];
    intervalSeconds: number;
    timeoutSeconds: number;
    retries: number;
    startPeriodSeconds: number;
  };
}

/** Limits of a container whose spec names none: a runaway helper cannot take the host down. */
export const DEFAULT_LIMITS = { memoryBytes: 2 * 1024 ** 3, pids: 512, cpus: 2 } as const;
/** chown/chmod/remove files of other owners as root in a helper; none of Docker's other defaults (setuid, raw sockets, …). */
export const ROOT_HELPER_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'];
/** The official postgres image's entrypoint: fix the data folder's owner, then drop to `postgres`. */
export const POSTGRES_CAPABILITIES = [...ROOT_HELPER_CAPABILITIES, 'SETUID', 'SETGID'];

export const isNotFound = (error: unknown) => (error as { statusCode?: number }).statusCode === 404;
const isNotModified = (error: unknown) => (error as { statusCode?: number }).statusCode === 304;

/** Output of a non-TTY container or exec arrives multiplexed; this splits it into one text stream. */
function collect(docker: Docker, stream: Readable, limitBytes = 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      // Keep the tail: the end of a failing command's output is what explains it.
      if (text.length > limitBytes) text = text.slice(-limitBytes);
    });
    docker.modem.demuxStream(stream, out, out);
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

/** The only code that talks to a Docker engine: the Engine API through dockerode, never the docker CLI. */
export class DockerEngine {
  readonly docker: Docker;
  /** Networks beyond ensureNetwork: attaching, detaching, removing, listing. */
  readonly networks: DockerNetworks;

  constructor(readonly location: EngineLocation) {
    this.docker = new Docker(parseDockerHost(location.dockerHost, location.tls));
    this.networks = new DockerNetworks(this.docker);
  }

  async info(): Promise<EngineInfo> {
    const [info, version] = await Promise.all([this.docker.info(), this.docker.version()]);
    return {
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: `${info.OperatingSystem} (${info.KernelVersion})`,
      cpus: info.NCPU,
      memoryBytes: info.MemTotal,
      name: info.Name,
    };
  }

  async hasImage(ref: string): Promise<boolean> {
    return (await this.imageId(ref)) !== undefined;
  }

  async imageId(ref: string): Promise<string | undefined> {
    try {
      return (await this.docker.getImage(ref).inspect()).Id;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** `internal`: a network with no route out, whose containers reach only each other. */
  async ensureNetwork(
    name: string,
    labels: Record<string, string>,
    options: { internal?: boolean } = {},
  ): Promise<void> {
    try {
      await this.docker.getNetwork(name).inspect();
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await this.docker.createNetwork({
          Name: name,
          Driver: 'bridge',
          Labels: labels,
          CheckDuplicate: true,
          Internal: options.internal ?? false,
        });
      } catch (created) {
        // Two jobs made it at the same moment: the other one's network serves.
        if ((created as { statusCode?: number }).statusCode !== 409) throw created;
      }
    }
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    try {
      await this.docker.getVolume(name).inspect();
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.docker.createVolume({ Name: name, Labels: labels });
    }
  }

  async volumeExists(name: string): Promise<boolean> {
    try {
      await this.docker.getVolume(name).inspect();
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private cpuCount?: Promise<number>;

  /** NanoCpus above the engine's CPU count are refused by Docker: a default is capped to it. */
  private async defaultNanoCpus(): Promise<number> {
    this.cpuCount ??= this.info()
      .then((info) => info.cpus)
      .catch(() => 1);
    return Math.min(DEFAULT_LIMITS.cpus, await this.cpuCount) * 1e9;
  }

  /** Attaches a container to a network once (see DockerNetworks.connect). */
  connectNetwork(network: string, container: string, aliases: string[]): Promise<void> {
    return this.networks.connect(network, container, aliases);
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const nanoCpus = spec.nanoCpus ?? (await this.defaultNanoCpus());
    const container = await this.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Cmd: spec.cmd,
      Entrypoint: spec.entrypoint,
      User: spec.user,
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      ExposedPorts: Object.fromEntries((spec.ports ?? []).map((p) => [`${p.container}/tcp`, {}])),
      Healthcheck: spec.healthcheck && {
        Test: spec.healthcheck.test,
        Interval: spec.healthcheck.intervalSeconds * 1e9,
        Timeout: spec.healthcheck.timeoutSeconds * 1e9,
        Retries: spec.healthcheck.retries,
        StartPeriod: spec.healthcheck.startPeriodSeconds * 1e9,
      },
      HostConfig: {
        Mounts: (spec.mounts ?? []).map((m) => ({
          Type: m.type,
          Source: m.source,
          Target: m.target,
          ReadOnly: m.readOnly ?? false,
        })),
        PortBindings: Object.fromEntries(
          // Host port 0: the engine picks a free one (read it back with publishedPort).
          (spec.ports ?? []).map((p) => [
            `${p.container}/tcp`,
            [{ HostIp: p.hostIp, HostPort: p.hostPort === 0 ? '' : String(p.hostPort) }],
          ]),
        ),
        // Tenants are hostile: no capability beyond those asked for, no setuid escalation, and
        // limits on memory, CPU and processes (a fork bomb stops at the pids limit).
        CapDrop: ['ALL'],
        CapAdd: spec.capAdd ?? ROOT_HELPER_CAPABILITIES,
        SecurityOpt: ['no-new-privileges'],
        PidsLimit: spec.pidsLimit ?? DEFAULT_LIMITS.pids,
        Memory: spec.memoryBytes ?? DEFAULT_LIMITS.memoryBytes,
        NanoCpus: nanoCpus,
        ...(spec.cpuShares !== undefined ? { CpuShares: spec.cpuShares } : {}),
        RestartPolicy: { Name: spec.restart ?? 'no' },
        ...(spec.init ? { Init: true } : {}),
        NetworkMode: spec.hostNetwork ? 'host' : spec.network,
      },
      NetworkingConfig:
        spec.network && !spec.hostNetwork
          ? { EndpointsConfig: { [spec.network]: { Aliases: spec.networkAliases ?? [] } } }
          : undefined,
    });
    return container.id;
  }

  /** Writes one file into a container (created or running), e.g. its odoo.conf, with owner and mode. */
  async putFile(
    containerId: string,
    dir: string,
    name: string,
    content: string,
    opts: { uid: number; gid: number; mode: number },
  ): Promise<void> {
    const pack = tarStream.pack();
    pack.entry({ name, mode: opts.mode, uid: opts.uid, gid: opts.gid }, content);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    await this.docker.getContainer(containerId).putArchive(Buffer.concat(chunks), { path: dir });
  }

  /** Reads one (small) file out of a container. */
  async readFile(containerId: string, path: string, limitBytes = 1024 * 1024): Promise<string> {
    const archive = (await this.docker.getContainer(containerId).getArchive({ path })) as unknown as Readable;
    return firstFileOfTar(archive, path, limitBytes);
  }

  async start(containerId: string): Promise<void> {
    try {
      await this.docker.getContainer(containerId).start();
    } catch (error) {
      if (!isNotModified(error)) throw error;
    }
  }

  async stop(containerId: string, timeoutSeconds = 20): Promise<void> {
    try {
      await this.docker.getContainer(containerId).stop({ t: timeoutSeconds });
    } catch (error) {
      if (!isNotModified(error)) throw error;
    }
  }

  async restart(containerId: string, timeoutSeconds = 20): Promise<void> {
    await this.docker.getContainer(containerId).restart({ t: timeoutSeconds });
  }

  async remove(containerId: string): Promise<void> {
    try {
      // v: anonymous volumes go with the container (the odoo image declares some); named ones stay.
      await this.docker.getContainer(containerId).remove({ force: true, v: true });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async publishedPort(containerId: string, containerPort: number): Promise<number | undefined> {
    const c = await this.docker.getContainer(containerId).inspect();
    const binding = c.NetworkSettings.Ports?.[`${containerPort}/tcp`]?.[0];
    return binding ? Number(binding.HostPort) : undefined;
  }

  /** The container's IPv4 address on a network while it runs (Docker clears it on stop). */
  async address(containerId: string, network: string): Promise<string | undefined> {
    try {
      const c = await this.docker.getContainer(containerId).inspect();
      const address = c.State.Running ? c.NetworkSettings.Networks?.[network]?.IPAddress : undefined;
      return address || undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async state(containerId: string): Promise<ContainerState | undefined> {
    try {
      const c = await this.docker.getContainer(containerId).inspect();
      return {
        id: c.Id,
        name: c.Name.replace(/^\//, ''),
        status: c.State.Status,
        running: c.State.Running,
        restarting: c.State.Restarting,
        exitCode: c.State.ExitCode,
        startedAt: c.State.StartedAt && !c.State.StartedAt.startsWith('0001') ? new Date(c.State.StartedAt) : null,
        health: c.State.Health?.Status ?? null,
        labels: c.Config.Labels ?? {},
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Runs a one-off container to completion and returns its exit code and (the tail of) its output. */
  async run(
    spec: ContainerSpec,
    options: { beforeStart?: (id: string) => Promise<void>; onOutput?: (text: string) => void } = {},
  ): Promise<RunResult> {
    const { beforeStart, onOutput } = options;
    const id = await this.createContainer(spec);
    const container = this.docker.getContainer(id);
    try {
      await beforeStart?.(id);
      const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as unknown as Readable;
      const output = new PassThrough();
      let text = '';
      output.on('data', (chunk: Buffer) => {
        const piece = chunk.toString('utf8');
        onOutput?.(piece);
        text = (text + piece).slice(-1024 * 1024);
      });
      this.docker.modem.demuxStream(stream, output, output);
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      await new Promise((resolve) => setTimeout(resolve, 50)); // let the last output chunk arrive
      return { exitCode: StatusCode, output: text };
    } finally {
      await this.remove(id);
    }
  }

  async exec(
    containerId: string,
    cmd: string[],
    opts: { user?: string; env?: Record<string, string> } = {},
  ): Promise<RunResult> {
    const exec = await this.docker.getContainer(containerId).exec({
      Cmd: cmd,
      User: opts.user,
      Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
    const output = await collect(this.docker, stream);
    const { ExitCode } = await exec.inspect();
    return { exitCode: ExitCode ?? -1, output };
  }

  async listManaged(namespace: string, kind?: string): Promise<ContainerState[]> {
    const labels = [`${LABEL_NAMESPACE}=${namespace}`, ...(kind ? [`${LABEL_KIND}=${kind}`] : [])];
    const list = await this.docker.listContainers({ all: true, filters: { label: labels } });
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      status: c.State,
      running: c.State === 'running',
      restarting: c.State === 'restarting',
      exitCode: Number(/^Exited \((\d+)\)/.exec(c.Status)?.[1] ?? 0),
      startedAt: null,
      health: healthInStatus(c.Status),
      labels: c.Labels,
    }));
  }

  async listManagedVolumes(
    namespace: string,
    kind?: string,
  ): Promise<{ name: string; labels: Record<string, string> }[]> {
    const labels = [`${LABEL_NAMESPACE}=${namespace}`, ...(kind ? [`${LABEL_KIND}=${kind}`] : [])];
    const { Volumes } = await this.docker.listVolumes({ filters: { label: labels } });
    return (Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
  }

  /**
   * Follows the engine's container events for Marina's objects until `signal` aborts. The stream
   * is the source of truth for status; nothing polls containers per request.
   */
  events(namespace: string, onEvent: (event: ContainerEvent) => void, signal: AbortSignal): Promise<void> {
    return followEvents(this.docker, namespace, onEvent, signal);
  }

  /**
   * A folder or file of a container (created or running; its volumes included) as a tar stream, or
   * undefined when the path does not exist.
   */
  async getArchive(containerId: string, path: string): Promise<Readable | undefined> {
    try {
      return (await this.docker.getContainer(containerId).getArchive({ path })) as unknown as Readable;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Extracts a tar stream into a folder of a container; owners and modes come from the tar headers. */
  async putArchive(containerId: string, path: string, tar: Readable): Promise<void> {
    await this.docker.getContainer(containerId).putArchive(tar as unknown as NodeJS.ReadableStream, { path });
  }

  /**
   * Runs a one-off container whose standard output is data (a dump): it flows into `stdout` with
   * backpressure; standard error is kept (its tail) to explain a failure.
   */
  async runStreaming(
    spec: ContainerSpec,
    stdout: Writable,
    options: { onStderr?: (text: string) => void } = {},
  ): Promise<RunResult> {
    const id = await this.createContainer(spec);
    const container = this.docker.getContainer(id);
    let errors = '';
    try {
      const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as unknown as Readable;
      const demux = new StdoutDemux((chunk) => {
        const text = chunk.toString('utf8');
        options.onStderr?.(text);
        errors = (errors + text).slice(-64 * 1024);
      });
      const flowing = pipeline(stream, demux, stdout);
      // The writer failing (disk full, cancelled) must not leave the dump blocked on a full pipe.
      flowing.catch(() => container.kill().catch(() => undefined));
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      await flowing;
      return { exitCode: StatusCode, output: errors };
    } finally {
      await this.remove(id);
    }
  }

  async stats(containerId: string): Promise<Docker.ContainerStats> {
    return (await this.docker.getContainer(containerId).stats({ stream: false })) as Docker.ContainerStats;
  }
}

/** The health a listing shows in its status text: "Up 2 minutes (healthy)", "(health: starting)". */
export function healthInStatus(status: string): string | null {
  const found = /\((healthy|unhealthy|health: starting)\)/.exec(status)?.[1];
  if (!found) return null;
  return found === 'health: starting' ? 'starting' : found;
}
