import type Docker from 'dockerode';
import { LABEL_KIND, LABEL_NAMESPACE } from '../port.js';
import { LABEL_CONFIG, LABEL_HOST, TASK_SERVICE_NAME } from './service-spec.js';

/** An instance's service as Marina reads it back. */
export interface ServiceView {
  id: string;
  image: string;
  hash: string | undefined;
  replicas: number;
  labels: Record<string, string>;
  mounts: { type: string; source: string; target: string }[];
  publishedPorts: Record<number, number | undefined>;
  memoryBytes: number;
  nanoCpus: number;
}

interface RawService {
  ID: string;
  Version: { Index: number };
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    Mode: { Replicated?: { Replicas?: number } };
    TaskTemplate: {
      ContainerSpec: { Image: string; Mounts?: { Type: string; Source: string; Target: string }[] };
      Resources?: { Limits?: { MemoryBytes?: number; NanoCPUs?: number } };
      Networks?: { Target: string; Aliases?: string[] }[];
      Placement?: { Constraints?: string[] };
    };
    EndpointSpec?: { Ports?: { TargetPort: number; PublishedPort?: number }[] };
  };
}

interface RawTask {
  ID: string;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
  CreatedAt: string;
}

const WAIT_MS = 90_000;
const isNotFound = (error: unknown) => (error as { statusCode?: number }).statusCode === 404;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Task states in which a container may still run. */
const LIVE = new Set(['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);

/** The services and overlay networks of a swarm, through a manager, and their tasks' containers on a node. */
export class SwarmServices {
  constructor(
    private readonly manager: () => Promise<Docker>,
    private readonly node: Docker,
  ) {}

  private async raw(name: string): Promise<RawService | undefined> {
    try {
      return (await (await this.manager()).getService(name).inspect()) as RawService;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async inspect(name: string): Promise<ServiceView | undefined> {
    const s = await this.raw(name);
    if (!s) return undefined;
    const container = s.Spec.TaskTemplate.ContainerSpec;
    return {
      id: s.ID,
      image: container.Image,
      hash: s.Spec.Labels?.[LABEL_CONFIG],
      replicas: s.Spec.Mode.Replicated?.Replicas ?? 0,
      labels: s.Spec.Labels ?? {},
      mounts: (container.Mounts ?? []).map((m) => ({ type: m.Type, source: m.Source, target: m.Target })),
      publishedPorts: Object.fromEntries(
        (s.Spec.EndpointSpec?.Ports ?? []).map((p) => [p.TargetPort, p.PublishedPort]),
      ),
      memoryBytes: s.Spec.TaskTemplate.Resources?.Limits?.MemoryBytes ?? 0,
      nanoCpus: s.Spec.TaskTemplate.Resources?.Limits?.NanoCPUs ?? 0,
    };
  }

  async create(spec: { Name: string }): Promise<string> {
    const created = (await (await this.manager()).createService(spec as never)) as { id?: string; ID?: string };
    return created.id ?? created.ID ?? (await this.inspect(spec.Name))?.id ?? '';
  }

  /**
   * Changes a service's spec, read again first: Swarm wants its current version, and bumps it by
   * itself too (an update's status), so a change that lost that race is made again.
   */
  private async update(name: string, change: (spec: RawService['Spec']) => boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const s = await this.raw(name);
      if (!s) throw Object.assign(new Error(`no service ${name}`), { statusCode: 404 });
      if (!change(s.Spec)) return;
      try {
        await (await this.manager())
          .getService(name)
          .update({ _query: { version: s.Version.Index }, _body: s.Spec } as never);
        return;
      } catch (error) {
        if (!/out of sequence/.test((error as Error).message) || attempt >= 5) throw error;
      }
    }
  }

  private async tasks(name: string): Promise<RawTask[]> {
    return (await (await this.manager()).listTasks({ filters: { service: [name] } })) as RawTask[];
  }

  /** One replica (started, waited for until it runs) or none (stopped, waited for until it is gone). */
  async scale(
    name: string,
    replicas: 0 | 1,
    once?: { desired: () => Promise<void>; enough?: () => Promise<boolean> },
  ): Promise<void> {
    const current = await this.inspect(name);
    if (current?.replicas !== replicas)
      await this.update(name, (spec) => {
        spec.Mode = { Replicated: { Replicas: replicas } };
        return true;
      });
    // What may only happen once Swarm wants the new count (a task killed before would be replaced).
    await once?.desired();
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const tasks = await this.tasks(name);
      const wanted = tasks.filter((t) => t.DesiredState === 'running');
      // `starting` lasts until the first health check passes: its container runs already.
      if (replicas === 1 && wanted.some((t) => t.Status.State === 'running')) return;
      if (replicas === 1 && (await this.container(name, true))) return;
      if (replicas === 0 && !tasks.some((t) => LIVE.has(t.Status.State))) return;
      // The caller knows sooner than Swarm's task states (which its agent reports a second or more late).
      if (await once?.enough?.()) return;
      const failed = wanted.find((t) => t.Status.State === 'rejected' || t.Status.State === 'failed');
      if (replicas === 1 && failed && Date.now() > deadline - WAIT_MS / 2)
        throw new Error(`${name} did not start: ${failed.Status.Err ?? failed.Status.State}`);
      if (Date.now() > deadline)
        throw new Error(`${name} did not ${replicas === 1 ? 'start' : 'stop'} within ${WAIT_MS / 1000} s`);
      await sleep(250);
    }
  }

  /**
   * Removes the service through a manager without waiting for its containers: its node is lost, so
   * nothing there can answer. Swarm removes the task when the node returns.
   */
  async forget(name: string): Promise<void> {
    try {
      await (await this.manager()).getService(name).remove();
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Removes the service and waits until its tasks' containers are gone from the node (their volumes free). */
  async remove(name: string): Promise<void> {
    await this.forget(name);
    await this.containersGone(name);
  }

  /**
   * Waits until this node holds no container of a service of that name: after forget, the node
   * removes them on its own. Another node may already run a new service of the same name.
   */
  async containersGone(name: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while ((await this.containers(name)).length > 0) {
      if (Date.now() > deadline)
        throw new Error(`the containers of ${name} were not removed within ${WAIT_MS / 1000} s`);
      await sleep(250);
    }
  }

  private async containers(name: string) {
    return this.node.listContainers({ all: true, filters: { label: [`${TASK_SERVICE_NAME}=${name}`] } });
  }

  /** The container of the service's newest task on the node (the running one when asked). */
  async container(name: string, runningOnly = false): Promise<string | undefined> {
    const containers = (await this.containers(name)).sort((a, b) => b.Created - a.Created);
    const running = containers.find((c) => c.State === 'running');
    return running?.Id ?? (runningOnly ? undefined : containers[0]?.Id);
  }

  /** The namespace's instance services pinned to one host. */
  async list(namespace: string, hostId: string, kind?: string): Promise<string[]> {
    const label = [`${LABEL_NAMESPACE}=${namespace}`, ...(kind ? [`${LABEL_KIND}=${kind}`] : [])];
    const services = (await (await this.manager()).listServices({ filters: { label } })) as RawService[];
    return services
      .filter((s) => s.Spec.TaskTemplate.Placement?.Constraints?.includes(`node.labels.${LABEL_HOST}==${hostId}`))
      .map((s) => s.Spec.Name);
  }

  /** A service names its networks by id once created: the name and the id of one both match it. */
  private async networkIds(network: string): Promise<Set<string>> {
    const found = (await (
      await this.manager()
    )
      .getNetwork(network)
      .inspect()
      .catch(() => undefined)) as { Id?: string } | undefined;
    return new Set([network, ...(found?.Id ? [found.Id] : [])]);
  }

  async connect(name: string, network: string, aliases: string[]): Promise<void> {
    const ids = await this.networkIds(network);
    await this.update(name, (spec) => {
      const networks = spec.TaskTemplate.Networks ?? [];
      if (networks.some((n) => ids.has(n.Target))) return false;
      spec.TaskTemplate.Networks = [...networks, { Target: network, Aliases: aliases }];
      return true;
    });
  }

  async disconnect(name: string, network: string): Promise<void> {
    const ids = await this.networkIds(network);
    await this.update(name, (spec) => {
      const networks = spec.TaskTemplate.Networks ?? [];
      spec.TaskTemplate.Networks = networks.filter((n) => !ids.has(n.Target));
      return spec.TaskTemplate.Networks.length !== networks.length;
    });
  }

  /** An overlay network: attachable, so that the node's own containers (tools, servers) join it. */
  async ensureOverlay(name: string, labels: Record<string, string>, internal: boolean): Promise<void> {
    const docker = await this.manager();
    const existing = await docker
      .getNetwork(name)
      .inspect()
      .catch((error: unknown) => (isNotFound(error) ? undefined : Promise.reject(error)));
    if (existing) return;
    await docker.createNetwork({ Name: name, Driver: 'overlay', Attachable: true, Internal: internal, Labels: labels });
  }

  /** Removes an overlay; a service just disconnected from it holds it for a moment, so that is waited for. */
  async removeOverlay(name: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await (await this.manager()).getNetwork(name).remove();
        return;
      } catch (error) {
        if (isNotFound(error)) return;
        if (!/in use/.test((error as Error).message) || Date.now() > deadline) throw error;
        await sleep(250);
      }
    }
  }

  /**
   * Not filtered by driver: Swarm names a network's driver only once its allocator has run, so an
   * overlay just made would be left out under load. Its scope is set from the start.
   */
  async listOverlays(namespace: string, kind: string): Promise<string[]> {
    const networks = await (await this.manager()).listNetworks({
      filters: { label: [`${LABEL_NAMESPACE}=${namespace}`, `${LABEL_KIND}=${kind}`], scope: ['swarm'] },
    });
    return networks.filter((n) => n.Scope === 'swarm').map((n) => n.Name);
  }
}
