import { Badge, type BadgeTone } from '../../components/Badge';
import { ProgressBar } from '../../components/ProgressBar';
import { formatRelative } from '../../format';
import type { ClusterNode } from './api';

const GB = 1024 ** 3;

/** Bytes as gigabytes, one decimal under 10 GB. */
export function gigabytes(bytes: number): string {
  const value = bytes / GB;
  return `${value >= 10 || Number.isInteger(value) ? Math.round(value) : value.toFixed(1)} GB`;
}

const stateTones: Record<string, BadgeTone> = { ready: 'green', down: 'red', unknown: 'gray', disconnected: 'gray' };

/** The host Marina started on: it runs instances, but is no node of the cluster. */
export const isStandalone = (node: ClusterNode) => node.role === 'standalone';

export function RoleCell({ node }: { node: ClusterNode }) {
  if (isStandalone(node)) {
    return (
      <span className="muted node-outside">
        <span>this machine,</span> <span>outside the cluster</span>
      </span>
    );
  }
  const tone: BadgeTone = node.role === 'joining' ? 'blue' : node.role === 'leaving' ? 'amber' : 'gray';
  return (
    <span className="node-role">
      {node.role === 'manager' || node.role === 'worker' ? node.role : <Badge tone={tone}>{node.role}</Badge>}
      {node.role === 'manager' && node.managerReachability && node.managerReachability !== 'reachable' ? (
        <span className="muted"> · {node.managerReachability}</span>
      ) : null}
    </span>
  );
}

/** Swarm's state of the node (ready green, down red, otherwise grey), and "drained" when it takes nothing new. */
export function StateCell({ node }: { node: ClusterNode }) {
  if (isStandalone(node)) {
    return (
      <span className="node-state" data-testid="node-state">
        {node.state === 'reachable' ? <span className="muted">—</span> : <Badge tone="red">engine {node.state}</Badge>}
      </span>
    );
  }
  const state = node.nodeState ?? 'unknown';
  return (
    <span className="node-state" data-testid="node-state">
      <Badge tone={stateTones[state] ?? 'gray'}>{state}</Badge>
      {node.availability === 'drain' ? <Badge tone="amber">drained</Badge> : null}
      {/* Swarm's "pause": Marina's drain while the node's instances move off it. */}
      {node.availability === 'pause' ? <Badge tone="amber">draining</Badge> : null}
    </span>
  );
}

/** Since when Swarm has seen the node in its state; nothing outside the cluster. */
export function SinceCell({ node }: { node: ClusterNode }) {
  if (!node.nodeStateSince) return null;
  return (
    <span className="muted node-since" data-testid="node-since" title={new Date(node.nodeStateSince).toLocaleString()}>
      since {formatRelative(node.nodeStateSince)}
    </span>
  );
}

/** Its address in the cluster, and the version of its Docker engine under it. */
export function AddressCell({ node }: { node: ClusterNode }) {
  return (
    <div className="node-stack">
      {node.address ? <span className="mono node-address">{node.address}</span> : <span className="muted">—</span>}
      <span className="muted node-engine" data-testid="node-engine">
        {node.engineVersion ? `Docker ${node.engineVersion}` : 'engine version unknown'}
      </span>
    </div>
  );
}

export function CapacityCell({ node }: { node: ClusterNode }) {
  if (node.cpus === null && node.memoryBytes === null) return <span className="muted">—</span>;
  return (
    <span className="node-capacity">
      {node.cpus ?? '?'} CPU · {node.memoryBytes === null ? '?' : gigabytes(node.memoryBytes)}
    </span>
  );
}

/** What the node's instances are guaranteed (the sum of their limits) against its memory, as a bar. */
export function GuaranteedCell({ node }: { node: ClusterNode }) {
  const total = node.memoryBytes ?? 0;
  const used = node.guaranteedMemoryBytes;
  const percent = total > 0 ? (used / total) * 100 : used > 0 ? 100 : 0;
  const tone = percent >= 100 ? 'red' : percent >= 80 ? 'amber' : 'brand';
  return (
    <div className="node-guaranteed" data-testid="node-guaranteed">
      <span className="usage-bar-figure">
        {gigabytes(used)} <span className="muted">/ {total > 0 ? gigabytes(total) : '?'}</span>
        {node.guaranteedCpus > 0 ? <span className="muted"> · {node.guaranteedCpus} CPU</span> : null}
      </span>
      <ProgressBar value={percent} tone={tone} label={`Memory guaranteed: ${Math.round(percent)} %`} />
    </div>
  );
}
