import Docker from 'dockerode';
import { type EngineAccess, parseDockerHost } from './location.js';

/** What an engine says of its own place in a Swarm. */
export interface SwarmMembership {
  /** `inactive`: in no swarm; `active`: a member; `pending`/`error`/`locked`: in between. */
  localNodeState: string;
  nodeId: string;
  /** The swarm's id (only known to managers). */
  clusterId: string | null;
  isManager: boolean;
  cpus: number;
  memoryBytes: number;
  hostname: string;
  engineVersion: string;
}

/** A node as a manager lists it. */
export interface SwarmNode {
  id: string;
  version: number;
  hostname: string;
  role: 'manager' | 'worker';
  availability: 'active' | 'pause' | 'drain';
  state: 'ready' | 'down' | 'unknown' | 'disconnected';
  address: string;
  labels: Record<string, string>;
  managerReachability: string | null;
  leader: boolean;
}

interface RawNode {
  ID: string;
  Version: { Index: number };
  Spec: { Labels?: Record<string, string>; Role: 'manager' | 'worker'; Availability: SwarmNode['availability'] };
  Description?: { Hostname?: string };
  Status: { State: SwarmNode['state']; Addr?: string };
  ManagerStatus?: { Reachability?: string; Leader?: boolean; Addr?: string };
}

export const SWARM_PORT = 2377;

/**
 * The Swarm operations of one Docker engine: forming the cluster, joining it, leaving it, and, on a
 * manager, the nodes. Requests time out: a node that went away must not hang the caller.
 */
export class SwarmEngine {
  readonly docker: Docker;

  constructor(dockerHost: string, tls?: EngineAccess, timeoutMs = 15_000) {
    this.docker = new Docker({ ...parseDockerHost(dockerHost, tls), timeout: timeoutMs });
  }

  async membership(): Promise<SwarmMembership> {
    const info = (await this.docker.info()) as {
      Name: string;
      NCPU: number;
      MemTotal: number;
      ServerVersion: string;
      Swarm: { LocalNodeState: string; NodeID: string; ControlAvailable: boolean; Cluster?: { ID?: string } };
    };
    return {
      localNodeState: info.Swarm.LocalNodeState,
      nodeId: info.Swarm.NodeID,
      clusterId: info.Swarm.Cluster?.ID || null,
      isManager: info.Swarm.ControlAvailable,
      cpus: info.NCPU,
      memoryBytes: info.MemTotal,
      hostname: info.Name,
      engineVersion: info.ServerVersion,
    };
  }

  /** Makes this engine the first manager of a new swarm; `heartbeatSeconds` sets how soon a lost node shows. */
  async init(advertiseAddress: string, heartbeatSeconds: number): Promise<string> {
    return (await this.docker.swarmInit({
      ListenAddr: `0.0.0.0:${SWARM_PORT}`,
      AdvertiseAddr: advertiseAddress,
      Spec: { Dispatcher: { HeartbeatPeriod: heartbeatSeconds * 1e9 } },
    })) as string;
  }

  async joinTokens(): Promise<{ clusterId: string; worker: string; manager: string }> {
    const swarm = (await this.docker.swarmInspect()) as { ID: string; JoinTokens: { Worker: string; Manager: string } };
    return { clusterId: swarm.ID, worker: swarm.JoinTokens.Worker, manager: swarm.JoinTokens.Manager };
  }

  async join(advertiseAddress: string, managers: string[], token: string): Promise<void> {
    await this.docker.swarmJoin({
      ListenAddr: `0.0.0.0:${SWARM_PORT}`,
      AdvertiseAddr: advertiseAddress,
      RemoteAddrs: managers.map((m) => `${m}:${SWARM_PORT}`),
      JoinToken: token,
    });
  }

  async leave(force: boolean): Promise<void> {
    await this.docker.swarmLeave({ force });
  }

  async nodes(): Promise<SwarmNode[]> {
    const raw = (await this.docker.listNodes()) as RawNode[];
    return raw.map((n) => ({
      id: n.ID,
      version: n.Version.Index,
      hostname: n.Description?.Hostname ?? '',
      role: n.Spec.Role,
      availability: n.Spec.Availability,
      state: n.Status.State,
      address: n.Status.Addr ?? n.ManagerStatus?.Addr?.split(':')[0] ?? '',
      labels: n.Spec.Labels ?? {},
      managerReachability: n.ManagerStatus?.Reachability ?? null,
      leader: n.ManagerStatus?.Leader ?? false,
    }));
  }

  /** Changes a node's spec (labels, availability, role), read again first: Swarm wants its current version. */
  async updateNode(
    id: string,
    change: Partial<{
      labels: Record<string, string>;
      availability: SwarmNode['availability'];
      role: SwarmNode['role'];
    }>,
  ): Promise<void> {
    const node = (await this.docker.getNode(id).inspect()) as RawNode;
    const spec = {
      Labels: change.labels ?? node.Spec.Labels ?? {},
      Role: change.role ?? node.Spec.Role,
      Availability: change.availability ?? node.Spec.Availability,
    };
    await this.docker.getNode(id).update({ _query: { version: node.Version.Index }, _body: spec } as never);
  }

  async removeNode(id: string, force: boolean): Promise<void> {
    await this.docker.getNode(id).remove({ force });
  }
}
