import { createHash } from 'node:crypto';
import type { InstanceSpec } from '../port.js';

/** Marks an instance's service with a hash of what it runs (as the Docker runtime marks containers). */
export const LABEL_CONFIG = 'io.marina.config';
/** The node label that pins a service to the host holding its volumes (set when Marina adds the host). */
export const LABEL_HOST = 'io.marina.host';
/** Where an instance's odoo.conf lives on its node: a small volume of its own, mounted read-only. */
export const configVolumeOf = (name: string) => `${name}-conf`;

/** Docker's own labels on a task's container. */
export const TASK_SERVICE_ID = 'com.docker.swarm.service.id';
export const TASK_SERVICE_NAME = 'com.docker.swarm.service.name';

/**
 * An instance as a Swarm service of one replica (zero when stopped), pinned to its node. Its
 * odoo.conf is in a volume of the node rather than a Swarm secret: secrets live in every manager's
 * Raft log and cannot be read back, and the file must be readable while the instance is stopped.
 */
export function instanceServiceSpec(spec: InstanceSpec, hostId: string, replicas: 0 | 1) {
  const body = {
    image: spec.image,
    command: spec.command,
    env: spec.env,
    labels: spec.labels,
    network: spec.network,
    mounts: spec.mounts,
    limits: spec.limits,
    http: spec.http ?? null,
    gevent: spec.gevent ?? null,
    healthcheck: spec.healthcheck,
    hostId,
  };
  const hash = createHash('sha256').update(JSON.stringify(body)).update(spec.config.content).digest('hex');
  const labels = { ...spec.labels, [LABEL_CONFIG]: hash };
  const ports = [spec.http, spec.gevent].flatMap((p) =>
    // Swarm binds every address of the node: a published port is for a single-node test, not the edge.
    p ? [{ Protocol: 'tcp', TargetPort: p.port, PublishedPort: p.hostPort || undefined, PublishMode: 'host' }] : [],
  );
  return {
    hash,
    spec: {
      Name: spec.name,
      Labels: labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: spec.image,
          Command: spec.command,
          Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
          Labels: labels,
          Mounts: [
            ...spec.mounts.map((m) => ({
              Type: m.type,
              Source: m.source,
              Target: m.target,
              ReadOnly: m.readOnly ?? false,
            })),
            { Type: 'volume', Source: configVolumeOf(spec.name), Target: spec.config.dir, ReadOnly: true },
          ],
          // Tenants are hostile: no capability at all, as the Docker runtime's containers.
          CapabilityDrop: ['ALL'],
          CapabilityAdd: [],
          // Honoured by engines from API 1.46 (Docker 27); older ones need it in daemon.json, and
          // SwarmRuntime.start checks that the running task has it either way.
          Privileges: { NoNewPrivileges: true },
          // Under the engine's init, as the Docker runtime's containers: the entrypoint's shell
          // would ignore a SIGTERM sent before it execs Odoo (outside the hash, as there).
          Init: true,
          Healthcheck: {
            Test: spec.healthcheck.test,
            Interval: spec.healthcheck.intervalSeconds * 1e9,
            Timeout: spec.healthcheck.timeoutSeconds * 1e9,
            Retries: spec.healthcheck.retries,
            StartPeriod: spec.healthcheck.startPeriodSeconds * 1e9,
          },
          StopGracePeriod: 10e9,
        },
        Resources: {
          Limits: { MemoryBytes: spec.limits.memoryBytes, NanoCPUs: spec.limits.nanoCpus, Pids: spec.limits.pids },
          // Reserved as much as allowed: Swarm refuses to place what the node cannot guarantee.
          Reservations: { MemoryBytes: spec.limits.memoryBytes, NanoCPUs: spec.limits.nanoCpus },
        },
        // A crash or an out-of-memory kill restarts it; a stop (zero replicas) does not.
        RestartPolicy: { Condition: 'any', Delay: 1e9 },
        Placement: { Constraints: [`node.labels.${LABEL_HOST}==${hostId}`] },
        Networks: [{ Target: spec.network }],
      },
      Mode: { Replicated: { Replicas: replicas } },
      // No IPVS in every kernel, and the edge reaches a task by its name: DNS round-robin, no VIP.
      EndpointSpec: { Mode: 'dnsrr', Ports: ports },
    },
  };
}
