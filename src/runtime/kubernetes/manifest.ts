/**
 * What Marina would apply to a Kubernetes cluster, rendered as plain objects. Nothing here talks
 * to an API server: none can run on the machines Marina is tested on, and no code claims to talk
 * to one until it is tested against a real one (docs/kubernetes.md).
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** One object of a manifest: its type, name and the rest of its body. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Labels every object Marina renders carries, beside the runtime port's own (LABEL_*). */
export const K8S_MANAGED_BY = { 'app.kubernetes.io/managed-by': 'marina' } as const;

/** The role of a pod in an organization's namespace: what the network policies select on. */
export const ROLE_LABEL = 'marina.io/role';
export type PodRole = 'odoo' | 'database' | 'tool' | 'isolated';

// A label value: 63 characters at most, alphanumerics with - _ . inside (Kubernetes' own rule).
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * The runtime port's labels (Docker's accept any text) as Kubernetes labels where they fit its
 * rules, and as annotations where they do not, so that nothing Marina reads back is lost.
 */
export function labelsAndAnnotations(labels: Record<string, string>): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  const out = { labels: { ...K8S_MANAGED_BY } as Record<string, string>, annotations: {} as Record<string, string> };
  for (const [key, value] of Object.entries(labels)) {
    if (LABEL_NAME.test(key) && LABEL_VALUE.test(value)) out.labels[key] = value;
    else out.annotations[key] = value;
  }
  return out;
}

// An object name: a DNS-1123 label (Services, namespaces) or subdomain (the rest); the stricter one here.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Refuses a name Kubernetes would refuse, before any object is rendered with it. */
export function dnsLabel(name: string, what: string): string {
  if (!DNS_LABEL.test(name)) throw new Error(`${what} ${JSON.stringify(name)} is not a valid Kubernetes name`);
  return name;
}

/**
 * Host folders do not exist on a cluster: the Odoo source belongs in the image and repositories
 * come as images or volumes (docs/kubernetes.md). A spec with one is refused, not silently dropped.
 */
export function refuseHostFolders(mounts: readonly { type: string; target: string }[]): void {
  const bind = mounts.find((m) => m.type === 'bind');
  if (bind) throw new Error(`${bind.target} is a folder of Marina's host, which has no equivalent on Kubernetes`);
}

/** Bytes as a Kubernetes quantity, in whole mebibytes (what Marina's limits are counted in). */
export const mebibytes = (bytes: number): string => `${Math.ceil(bytes / (1024 * 1024))}Mi`;

/** Docker's nano-CPUs as a Kubernetes quantity in millicores. */
export const millicores = (nanoCpus: number): string => `${Math.max(1, Math.round(nanoCpus / 1e6))}m`;

/** Hardening every container gets: Odoo's user, no privilege, the runtime's default seccomp profile. */
export function restrictedContainer(uid: number): Record<string, unknown> {
  return {
    runAsUser: uid,
    runAsGroup: uid,
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
