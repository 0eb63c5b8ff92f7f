import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { Instance, InstanceStatus, NodeState } from '../../db/schema.js';
import { LABEL_ID, LABEL_KIND, type RuntimeEvent, type WorkloadState } from '../../runtime/port.js';
import type { HostService } from '../hosts/hosts.js';
import type { InstanceService } from './service.js';

/** A task's events that, from an old task, would wrongly take a running instance down. */
const TASK_DOWN_ACTIONS = new Set(['die', 'stop', 'destroy']);

/** While a job owns these states, only the job changes them. */
const JOB_OWNED: InstanceStatus[] = ['provisioning', 'deleting', 'failed', 'restoring'];

export interface StatusChange {
  status: InstanceStatus;
  detail: string | null;
  health?: string | null;
  startedAt?: Date | null;
}

/** What a runtime event means for an instance in a given state; undefined when nothing changes. */
export function statusFromEvent(current: InstanceStatus, event: RuntimeEvent): StatusChange | undefined {
  const action = event.action;
  if (action === 'start') return { status: 'running', detail: null, health: 'starting', startedAt: event.time };
  if (action === 'health_status: healthy') return { status: 'running', detail: null, health: 'healthy' };
  if (action === 'health_status: unhealthy')
    return {
      status: 'unhealthy',
      detail: 'The health check fails: Odoo does not answer /web/health.',
      health: 'unhealthy',
    };
  if (action === 'die') {
    if (current === 'stopping' || current === 'stopped') return { status: 'stopped', detail: null, startedAt: null };
    if (current === 'restarting') return undefined;
    return { status: 'exited', detail: `exited with code ${event.exitCode ?? '?'}`, startedAt: null };
  }
  if (action === 'stop')
    return current === 'restarting' ? undefined : { status: 'stopped', detail: null, startedAt: null };
  if (action === 'restart') return { status: 'running', detail: null, health: 'starting', startedAt: event.time };
  if (action === 'oom') return { status: 'exited', detail: 'killed: out of memory (raise the memory limit)' };
  if (action === 'destroy')
    return {
      status: 'missing',
      detail: 'The container was removed outside Marina; start the instance to create it again.',
      startedAt: null,
    };
  return undefined;
}

/** What an inspected container (or its absence) says about an instance. */
export function statusFromState(current: InstanceStatus, state: WorkloadState | undefined): StatusChange {
  if (!state)
    return {
      status: 'missing',
      detail: 'The container does not exist; start the instance to create it again.',
      startedAt: null,
    };
  if (state.running) {
    if (state.health === 'unhealthy')
      return {
        status: 'unhealthy',
        detail: 'The health check fails.',
        health: 'unhealthy',
        startedAt: state.startedAt,
      };
    return { status: 'running', detail: null, health: state.health, startedAt: state.startedAt };
  }
  if (state.restarting) return { status: 'restarting', detail: null };
  if (current === 'stopped' || current === 'stopping') return { status: 'stopped', detail: null, startedAt: null };
  return { status: 'exited', detail: `exited with code ${state.exitCode}`, startedAt: null };
}

/** Whether a container's listing says what the instance's record says (then there is nothing to inspect). */
export function listingAgrees(instance: Pick<Instance, 'status' | 'health'>, seen: WorkloadState): boolean {
  if (seen.restarting) return instance.status === 'restarting';
  if (seen.running)
    return (
      (instance.status === 'running' || instance.status === 'unhealthy') &&
      instance.health === seen.health &&
      (seen.health === 'unhealthy') === (instance.status === 'unhealthy')
    );
  return instance.status === 'stopped' || instance.status === 'exited';
}

export interface StatusTrackerDeps {
  db: Db;
  hosts: HostService;
  instances: InstanceService;
  namespace: string;
  logger: Logger;
}

/**
 * Keeps instance status in step with Docker by following each host's event stream (reconnecting
 * when it drops), and by inspecting every container once when the stream (re)connects.
 */
export class StatusTracker {
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly followed = new Set<string>();
  /** Events are applied one after another, in the order Docker sent them (die, then stop…). */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly deps: StatusTrackerDeps) {}

  start(hostIds: string[]): void {
    for (const hostId of hostIds) this.follow(hostId);
  }

  /** Follows one more host (a node that joined the cluster); once per host, until the host is removed. */
  follow(hostId: string): void {
    if (this.followed.has(hostId) || this.abort.signal.aborted) return;
    this.followed.add(hostId);
    this.loops.push(this.followLoop(hostId).finally(() => this.followed.delete(hostId)));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
  }

  private async followLoop(hostId: string): Promise<void> {
    let delay = 1000;
    while (!this.abort.signal.aborted) {
      try {
        // A host that was removed has nothing left to follow.
        const known = await this.deps.db.selectFrom('hosts').select('id').where('id', '=', hostId).executeTakeFirst();
        if (!known) return;
        const runtime = await this.deps.hosts.runtime(hostId);
        // Subscribe first, then inspect: a change between the two is not lost.
        const following = runtime.events(
          this.deps.namespace,
          (event) => {
            this.queue = this.queue.then(() => this.onEvent(hostId, event));
          },
          this.abort.signal,
        );
        following.catch(() => undefined);
        await this.reconcile(hostId);
        delay = 1000;
        await following;
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.deps.logger.warn({ host: hostId, err: error }, 'lost the Docker event stream; reconnecting');
        await this.deps.hosts.refresh(hostId).catch(() => undefined);
      }
      if (this.abort.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(30_000, delay * 2);
    }
  }

  private async onEvent(hostId: string, event: RuntimeEvent): Promise<void> {
    if (event.labels[LABEL_KIND] !== 'odoo') return;
    const id = event.labels[LABEL_ID];
    if (!id) return;
    try {
      const instance = await this.deps.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
      if (!instance || JOB_OWNED.includes(instance.status)) return;
      // What a host does with a copy the instance left there (a node back after its instance was
      // recovered or moved elsewhere: Swarm removes the old task) says nothing about the instance.
      if (instance.host_id !== hostId) return;
      let change = statusFromEvent(instance.status, event);
      // Swarm removes an old task's container when its history grows, maybe after a new task started.
      if (change && event.ofTask && TASK_DOWN_ACTIONS.has(event.action)) {
        const runtime = await this.deps.hosts.runtime(hostId);
        change = statusFromState(instance.status, await runtime.state(instance.container_name));
      }
      if (change) await this.apply(instance, change);
    } catch (error) {
      this.deps.logger.error({ err: error, instance: id }, 'could not record a status change');
    }
  }

  /**
   * Lists the host's containers once; an instance whose container is gone becomes "missing", and
   * only one whose listing disagrees with its record is inspected (for its start time and exit code).
   */
  /** Returns the containers it had to inspect: those whose listing disagreed with their record. */
  async reconcile(hostId: string): Promise<string[]> {
    const runtime = await this.deps.hosts.runtime(hostId);
    const listed = new Map((await runtime.list(this.deps.namespace, 'odoo')).map((state) => [state.name, state]));
    const instances = await this.deps.db.selectFrom('instances').selectAll().where('host_id', '=', hostId).execute();
    const inspected: string[] = [];
    for (const instance of instances) {
      if (JOB_OWNED.includes(instance.status)) continue;
      const seen = listed.get(instance.container_name);
      if (seen && listingAgrees(instance, seen)) continue;
      if (seen) inspected.push(instance.container_name);
      const state = seen ? await runtime.state(instance.container_name) : undefined;
      await this.apply(instance, statusFromState(instance.status, state));
    }
    return inspected;
  }

  /**
   * The node an instance runs on is lost (Swarm says it is down or disconnected): its instances
   * are `unavailable` (the proxy answers the maintenance page, as for any Odoo that does not answer)
   * until the node is back and its containers are listed again, or they are recovered elsewhere.
   */
  async nodeLost(hostId: string, detail: string): Promise<void> {
    const instances = await this.deps.db
      .selectFrom('instances')
      .selectAll()
      .where('host_id', '=', hostId)
      .where('status', 'not in', JOB_OWNED)
      .execute();
    for (const instance of instances)
      await this.apply(instance, { status: 'unavailable', detail, health: null, startedAt: null });
  }

  /**
   * A cluster node's state changed (the node follower): lost when Swarm says down or disconnected;
   * back when ready, and what runs there is listed afresh (the event stream reconnects on its own).
   * Unknown (no manager answers) says nothing about the node itself: nothing changes. Queued with
   * the events, so the order they happened in is kept.
   */
  nodeChanged(hostId: string, state: NodeState): Promise<void> {
    const work = async () => {
      if (state === 'ready') await this.reconcile(hostId);
      else if (state === 'down' || state === 'disconnected')
        await this.nodeLost(
          hostId,
          `Its node ${hostId} is ${state}: it comes back when the node does, or a platform admin recovers it on another node.`,
        );
    };
    this.queue = this.queue.then(work).catch((error: unknown) => {
      this.deps.logger.error({ err: error, host: hostId }, 'could not follow a node change');
    });
    return this.queue;
  }

  private async apply(instance: Instance, change: StatusChange): Promise<void> {
    const same =
      instance.status === change.status &&
      instance.status_detail === change.detail &&
      (change.health === undefined || instance.health === change.health);
    if (same) return;
    await this.deps.instances.setStatus(instance.id, change.status, change.detail, {
      ...(change.health !== undefined ? { health: change.health } : {}),
      ...(change.startedAt !== undefined ? { started_at: change.startedAt } : {}),
    });
  }
}
