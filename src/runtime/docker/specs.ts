import { createHash } from 'node:crypto';
import type { DatabaseServerSpec, InstanceSpec, OneOffSpec, ProxyServerSpec, RuntimeInfo } from '../port.js';
import { type ContainerSpec, POSTGRES_CAPABILITIES } from './engine.js';

/** Marks an instance's container with a hash of what it runs (odoo.conf, image, mounts, limits). */
export const LABEL_CONFIG = 'io.marina.config';

/**
 * An Odoo server as a container: no capability at all (the official image runs Odoo as uid 101
 * from the start), its limits, restarted unless stopped. The keys keep the order they always had:
 * the config hash is taken over this object, and a container made by an earlier Marina must not
 * look changed.
 */
function instanceContainer(spec: InstanceSpec): ContainerSpec {
  return {
    image: spec.image,
    env: spec.env,
    labels: spec.labels,
    network: spec.network,
    mounts: spec.mounts,
    capAdd: [],
    pidsLimit: spec.limits.pids,
    nanoCpus: spec.limits.nanoCpus,
    name: spec.name,
    cmd: spec.command,
    ports: [
      // Unpublished (the edge reaches the container on its network): no binding at all.
      ...(spec.http ? [{ container: spec.http.port, hostIp: spec.http.hostIp, hostPort: spec.http.hostPort }] : []),
      // Only when there is one: a container without it keeps the hash it always had.
      ...(spec.gevent
        ? [{ container: spec.gevent.port, hostIp: spec.gevent.hostIp, hostPort: spec.gevent.hostPort }]
        : []),
    ],
    memoryBytes: spec.limits.memoryBytes,
    restart: 'unless-stopped',
    healthcheck: spec.healthcheck,
  };
}

/** The container of an instance, labelled with the hash of what it runs. */
export function instanceContainerSpec(spec: InstanceSpec): { container: ContainerSpec; hash: string } {
  const container = instanceContainer(spec);
  const hash = createHash('sha256').update(JSON.stringify(container)).update(spec.config.content).digest('hex');
  // The image's entrypoint is a shell that waits for PostgreSQL before it execs Odoo: as PID 1 it
  // ignores SIGTERM, so a stop in those seconds waited for the engine's kill. Under an init it
  // ends at once. Outside the hash: a container made without it is not made again for this alone.
  return { container: { ...container, init: true, labels: { ...container.labels, [LABEL_CONFIG]: hash } }, hash };
}

/** A one-off: `none` keeps no capability, `files` those of a root helper (the engine's default), `read` one to read. */
export function oneOffContainerSpec(spec: OneOffSpec): ContainerSpec {
  return {
    name: spec.name,
    image: spec.image,
    ...(spec.entrypoint ? { entrypoint: spec.entrypoint } : {}),
    cmd: spec.command,
    env: spec.env ?? {},
    labels: spec.labels,
    ...(spec.network ? { network: spec.network } : {}),
    mounts: spec.mounts ?? [],
    ...(spec.privileges === 'none' ? { capAdd: [] } : {}),
    // Root, whatever the image's user, with only the right to read past modes.
    ...(spec.privileges === 'read' ? { capAdd: ['DAC_READ_SEARCH'], user: '0:0' } : {}),
    ...(spec.limits?.memoryBytes !== undefined ? { memoryBytes: spec.limits.memoryBytes } : {}),
    ...(spec.limits?.nanoCpus !== undefined ? { nanoCpus: spec.limits.nanoCpus } : {}),
    ...(spec.limits?.pids !== undefined ? { pidsLimit: spec.limits.pids } : {}),
    ...(spec.limits?.cpuShares !== undefined ? { cpuShares: spec.limits.cpuShares } : {}),
  };
}

/** What Marina's own servers on a host (database, proxy) share: restarted unless stopped, every CPU. */
function sharedServer(
  spec: Pick<DatabaseServerSpec, 'name' | 'image' | 'command' | 'env' | 'labels'>,
  host: RuntimeInfo,
): Pick<ContainerSpec, 'name' | 'image' | 'cmd' | 'env' | 'labels' | 'restart' | 'nanoCpus'> {
  return {
    name: spec.name,
    image: spec.image,
    cmd: spec.command,
    env: spec.env,
    labels: spec.labels,
    restart: 'unless-stopped',
    nanoCpus: host.cpus * 1e9,
  };
}

/**
 * The managed PostgreSQL server: shared by every tenant, so bounded by the host's size rather than a
 * tool's default; published on loopback only (Marina connects there, Odoo through its network); its
 * entrypoint runs as root to hand the data folder to postgres, then drops to it.
 */
export function databaseServerContainerSpec(spec: DatabaseServerSpec, host: RuntimeInfo): ContainerSpec {
  return {
    ...sharedServer(spec, host),
    network: spec.network,
    networkAliases: [spec.alias],
    mounts: [{ type: 'volume', source: spec.volume, target: spec.dataDir }],
    ports: [{ container: spec.port, hostIp: '127.0.0.1', hostPort: 0 }],
    capAdd: POSTGRES_CAPABILITIES,
    pidsLimit: 2048,
    memoryBytes: Math.floor(host.memoryBytes * 0.75),
  };
}

/**
 * The managed reverse proxy: on the host's network (ports 80/443, loopback, the bridge networks),
 * with no capability but binding ports below 1024; shared by every tenant, so bounded by the host's
 * size like the database server, with room for the threads of many connections.
 */
export function proxyServerContainerSpec(spec: ProxyServerSpec, host: RuntimeInfo): ContainerSpec {
  return {
    ...sharedServer(spec, host),
    hostNetwork: true,
    mounts: spec.mounts,
    capAdd: ['NET_BIND_SERVICE'],
    pidsLimit: 4096,
    memoryBytes: Math.floor(host.memoryBytes * 0.5),
  };
}
