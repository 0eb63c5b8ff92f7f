import type { Logger } from 'pino';
import { presentedHostKey } from '../../adapters/ssh/fingerprint.js';
import type { Db } from '../../db/database.js';
import type { Host } from '../../db/schema.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { fail, MarinaError, notFound } from '../../platform/errors.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { SwarmEngine } from '../../runtime/docker/swarm.js';
import type { RuntimeAccess, RuntimeSsh } from '../../runtime/port.js';
import { type HostService, hostTlsAt, openHostTls } from '../hosts/hosts.js';
import type { PlacementResult } from './placement.js';
import {
  type AddHostInput,
  advertiseAddress,
  requireAccess,
  requireDedicatedTo,
  requireEngineUrl,
  requireNodeName,
} from './validate.js';
import { listNodes, type NodeView, nodeView, previewPlacement } from './views.js';

/** The label every node carries: which of Marina's hosts it is. */
export const LABEL_HOST = 'io.marina.host';
const MAX_MANAGERS = 3;

/** How the Swarm operations of an engine are reached (a test may shorten the timeouts). */
export type SwarmFactory = (dockerHost: string, access?: RuntimeAccess) => SwarmEngine;

export interface NodeServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  box: SecretBox;
  audit: AuditService;
  hosts: HostService;
  /** Swarm's heartbeat: a lost node is marked down after a few of them. */
  heartbeatSeconds: number;
  swarm?: SwarmFactory;
}

/** Why an engine does not answer, in words that say what to fix; over SSH, which host key it showed. */
async function unreachable(
  name: string,
  engine: { host: string; port: number; kind: 'tls' | 'ssh' },
  access: RuntimeAccess,
  error: unknown,
): Promise<MarinaError> {
  const reason = (error as { code?: string }).code ?? (error as Error).message;
  if (engine.kind === 'tls')
    return new MarinaError(
      'MARINA_E_NODE_UNREACHABLE',
      `The Docker engine of ${name} does not answer over mutual TLS (${reason}).`,
    );
  const presented = await presentedHostKey(engine.host, engine.port);
  const expected = (access as RuntimeSsh).hostKeyFingerprint;
  if (presented && presented !== expected)
    return new MarinaError(
      'MARINA_E_NODE_UNREACHABLE',
      `${name} presented the host key ${presented}, not ${expected}: check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub). Nothing was sent to it.`,
    );
  return new MarinaError(
    'MARINA_E_NODE_UNREACHABLE',
    `The Docker engine of ${name} does not answer over SSH (${reason}). The user must be allowed in with this key and reach the engine (docker group), and the host must have the docker command.`,
  );
}

/**
 * Hosts added to the cluster: the first becomes the Swarm's manager, the others join it. The rows
 * are written before the Swarm is touched (role `joining`), so that a crash leaves a host Marina
 * knows about and can remove, never a node it does not know.
 */
export class NodeService {
  private readonly swarm: SwarmFactory;

  constructor(private readonly deps: NodeServiceDeps) {
    this.swarm = deps.swarm ?? ((host, tls) => new SwarmEngine(host, tls));
  }

  /** The Swarm operations of a host's engine. */
  engineOf(host: Host): SwarmEngine {
    return this.swarm(host.docker_host, openHostTls(host, this.deps.box));
  }

  list(actor: Actor): Promise<NodeView[]> {
    return listNodes(this.deps.db, actor);
  }

  view(actor: Actor, id: string): Promise<NodeView> {
    return nodeView(this.deps.db, actor, id);
  }

  placement(actor: Actor, request: Parameters<typeof previewPlacement>[2]): Promise<PlacementResult> {
    return previewPlacement(this.deps.db, actor, request);
  }

  async clusterHosts(): Promise<Host[]> {
    return this.deps.db.selectFrom('hosts').selectAll().where('role', '!=', 'standalone').orderBy('name').execute();
  }

  /** A manager that answers (see HostService.swarmManager). */
  manager(exceptId?: string): Promise<{ host: Host; engine: SwarmEngine } | undefined> {
    return this.deps.hosts.swarmManager(exceptId);
  }

  async add(ctx: RequestContext, input: AddHostInput): Promise<Host> {
    requirePlatformAdmin(ctx.actor);
    const id = requireNodeName(input.name);
    const engineUrl = requireEngineUrl(input.dockerHost);
    const tls = requireAccess(engineUrl.kind, input);
    const dedicatedTo = requireDedicatedTo(input.dedicatedTo);
    const address = await advertiseAddress(input.address, engineUrl.host);
    const hosts = await this.clusterHosts();
    if (hosts.length > 0 && !(await this.manager()))
      fail('MARINA_E_NODE_UNREACHABLE', 'No manager of the cluster answers: a host cannot join now.');
    const role = hosts.length === 0 ? 'manager' : (input.role ?? 'worker');
    if (role === 'manager' && hosts.filter((h) => h.role === 'manager').length >= MAX_MANAGERS)
      fail('MARINA_E_CONFLICT', `The cluster has ${MAX_MANAGERS} managers already; add this host as a worker.`);
    const existing = await this.deps.db
      .selectFrom('hosts')
      .select('id')
      .where((eb) => eb.or([eb('id', '=', id), eb('docker_host', '=', input.dockerHost)]))
      .executeTakeFirst();
    if (existing) fail('MARINA_E_CONFLICT', `A host named ${id} or at ${input.dockerHost} is known already.`);

    const engine = this.swarm(input.dockerHost, tls);
    const before = await engine.membership().catch(async (error: unknown) => {
      throw await unreachable(id, engineUrl, tls, error);
    });
    if (before.localNodeState !== 'inactive')
      fail('MARINA_E_NODE_IN_SWARM', `The engine of ${id} is in a swarm already (${before.localNodeState}).`);

    await this.deps.db
      .insertInto('hosts')
      .values({
        id,
        name: id,
        docker_host: input.dockerHost,
        role: 'joining',
        address,
        tls: this.deps.box.seal(JSON.stringify(tls), hostTlsAt(id)),
        dedicated_to: dedicatedTo,
        state: 'reachable',
        engine_version: before.engineVersion,
        cpus: before.cpus,
        memory_bytes: before.memoryBytes,
        checked_at: this.deps.clock.now(),
      })
      .execute();
    try {
      await this.enter(engine, id, address, role);
    } catch (error) {
      await engine.leave(true).catch(() => undefined);
      await this.deps.db.deleteFrom('hosts').where('id', '=', id).execute();
      if (error instanceof MarinaError) throw error;
      throw new MarinaError('MARINA_E_NODE_UNREACHABLE', `${id} could not join the swarm: ${(error as Error).message}`);
    }
    const host = await this.deps.hosts.row(id);
    await this.deps.audit.record(ctx, {
      action: 'node.add',
      target: { type: 'node', id, label: id },
      details: { dockerHost: input.dockerHost, address, role, dedicatedTo },
    });
    return host;
  }

  /** Makes the swarm with this engine, or joins it; then labels the node and records what Swarm says. */
  private async enter(engine: SwarmEngine, id: string, address: string, role: 'manager' | 'worker'): Promise<void> {
    const leader = await this.manager(id);
    if (!leader) {
      await engine.init(address, this.deps.heartbeatSeconds);
    } else {
      const tokens = await leader.engine.joinTokens();
      const managers = (await leader.engine.nodes())
        .filter((n) => n.role === 'manager' && n.managerReachability === 'reachable')
        .map((n) => n.address);
      await engine.join(address, managers, role === 'manager' ? tokens.manager : tokens.worker);
    }
    const after = await engine.membership();
    const labeller = leader?.engine ?? engine;
    await labeller.updateNode(after.nodeId, { labels: { [LABEL_HOST]: id } });
    await this.deps.db
      .updateTable('hosts')
      .set({
        role,
        swarm_node_id: after.nodeId,
        node_state: 'ready',
        availability: 'active',
        node_state_since: this.deps.clock.now(),
      })
      .where('id', '=', id)
      .execute();
  }

  private async clusterHost(id: string): Promise<Host> {
    const host = await this.deps.hosts.row(id);
    if (host.role === 'standalone') throw notFound('Node');
    return host;
  }

  private async instancesOn(id: string): Promise<number> {
    const row = await this.deps.db
      .selectFrom('instances')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('host_id', '=', id)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * A node that takes no new instances. Swarm drains it only once Marina's instances have left it
   * (their services are pinned there: Swarm would stop them, not move them): until then it is paused,
   * and the drain route queues their moves.
   */
  async setAvailability(ctx: RequestContext, id: string, asked: 'drain' | 'active'): Promise<Host> {
    requirePlatformAdmin(ctx.actor);
    const host = await this.clusterHost(id);
    const availability = asked === 'drain' && (await this.instancesOn(id)) > 0 ? 'pause' : asked;
    const leader = await this.manager();
    if (!leader || !host.swarm_node_id) return fail('MARINA_E_NODE_UNREACHABLE', 'No manager of the cluster answers.');
    await leader.engine.updateNode(host.swarm_node_id, { availability });
    const updated = await this.deps.db
      .updateTable('hosts')
      .set({ availability })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await this.deps.audit.record(ctx, {
      action: asked === 'drain' ? 'node.drain' : 'node.activate',
      target: { type: 'node', id, label: host.name },
      details: {},
    });
    return updated;
  }

  /**
   * The node leaves the Swarm and Marina forgets it. A manager is demoted first, so that the others
   * keep their quorum; the last manager goes only when it is the last node.
   */
  async remove(ctx: RequestContext, id: string): Promise<void> {
    requirePlatformAdmin(ctx.actor);
    const host = await this.clusterHost(id);
    const count = await this.instancesOn(id);
    if (count > 0)
      fail('MARINA_E_NODE_BUSY', `${host.name} has ${count} instance${count === 1 ? '' : 's'}: delete them first.`);
    const others = (await this.clusterHosts()).filter((h) => h.id !== id);
    const otherManager = others.length > 0 ? await this.manager(id) : undefined;
    if (host.role === 'manager' && others.length > 0 && !otherManager)
      fail('MARINA_E_CONFLICT', `${host.name} is the only manager that answers: remove the other nodes first.`);
    await this.deps.db.updateTable('hosts').set({ role: 'leaving' }).where('id', '=', id).execute();
    const engine = this.engineOf(host);
    if (otherManager && host.swarm_node_id && host.role === 'manager')
      await otherManager.engine.updateNode(host.swarm_node_id, { role: 'worker' });
    // A node that does not answer is gone already: the managers forget it below.
    await engine.leave(others.length === 0).catch((error: unknown) => {
      this.deps.logger.warn({ host: id, err: error }, 'the node did not leave the swarm itself');
    });
    if (otherManager && host.swarm_node_id)
      await otherManager.engine.removeNode(host.swarm_node_id, true).catch((error: unknown) => {
        if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      });
    await this.deps.db.deleteFrom('hosts').where('id', '=', id).execute();
    this.deps.hosts.forget(id);
    await this.deps.audit.record(ctx, {
      action: 'node.remove',
      target: { type: 'node', id, label: host.name },
      details: { role: host.role },
    });
  }
}
