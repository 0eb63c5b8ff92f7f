/**
 * Who may open what under a set of NetworkPolicies, decided by Kubernetes' rules: a pod selected by
 * no policy of a direction is open in it; once selected, only what some policy allows passes, and
 * a connection needs the sender's egress and the receiver's ingress both. What the tests use to
 * show that the rendered policies isolate tenants (no cluster can run here to try them).
 */
import type { Manifest } from './manifest.js';

export interface Pod {
  namespace: string;
  labels: Record<string, string>;
  /** The address of a pod, or of a server outside the cluster. */
  ip: string;
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { protocol?: string; port?: number }[];
}
interface PolicySpec {
  podSelector: Selector;
  policyTypes: ('Ingress' | 'Egress')[];
  ingress?: Rule[];
  egress?: Rule[];
}

function matches(selector: Selector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const ok = {
      In: has && values.includes(labels[key] as string),
      NotIn: !has || !values.includes(labels[key] as string),
      Exists: has,
      DoesNotExist: !has,
    }[operator];
    if (!ok) return false;
  }
  return true;
}

const ipv4 = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base) / size);
}

/** Namespaces carry their name as a label, as Kubernetes sets it on every namespace. */
function peerMatches(peer: Peer, policyNamespace: string, other: Pod, inCluster: boolean): boolean {
  if (peer.ipBlock)
    return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip, c));
  if (!inCluster) return false;
  const namespaceOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector, { 'kubernetes.io/metadata.name': other.namespace })
    : other.namespace === policyNamespace;
  return namespaceOk && matches(peer.podSelector ?? {}, other.labels);
}

function allows(
  policies: { namespace: string; spec: PolicySpec }[],
  pod: Pod,
  direction: 'Ingress' | 'Egress',
  other: Pod,
  otherInCluster: boolean,
  port: number,
): boolean {
  const selecting = policies.filter(
    (p) =>
      p.namespace === pod.namespace &&
      p.spec.policyTypes.includes(direction) &&
      matches(p.spec.podSelector, pod.labels),
  );
  if (selecting.length === 0) return true;
  return selecting.some(({ namespace, spec }) =>
    (direction === 'Ingress' ? spec.ingress : spec.egress)?.some((rule) => {
      const peers = direction === 'Ingress' ? rule.from : rule.to;
      const peerOk = !peers || peers.some((peer) => peerMatches(peer, namespace, other, otherInCluster));
      const portOk = !rule.ports || rule.ports.some((p) => p.port === undefined || p.port === port);
      return peerOk && portOk;
    }),
  );
}

/**
 * Whether `from` may open `to` on a TCP port. A destination outside the cluster (`to` with no
 * namespace) only needs the sender's egress.
 */
export function canConnect(manifests: Manifest[], from: Pod, to: Pod | { ip: string }, port: number): boolean {
  const policies = manifests
    .filter((m) => m.kind === 'NetworkPolicy')
    .map((m) => ({ namespace: m.metadata.namespace ?? '', spec: m.spec as PolicySpec }));
  const inCluster = 'namespace' in to;
  const target: Pod = inCluster ? to : { namespace: '', labels: {}, ip: to.ip };
  if (!allows(policies, from, 'Egress', target, inCluster, port)) return false;
  return !inCluster || allows(policies, target, 'Ingress', from, true, port);
}
