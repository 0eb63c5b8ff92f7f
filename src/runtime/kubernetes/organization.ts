/**
 * An organization on Kubernetes: its own namespace, bounded by its plan (ResourceQuota and
 * LimitRange), and closed by network policies: nothing enters or leaves unless a policy says so.
 */
import type { Limits } from '../../modules/plans/limits.js';
import { dnsLabel, K8S_MANAGED_BY, type Manifest, ROLE_LABEL } from './manifest.js';

/** Where the cluster's shared parts run: the proxy (ingress controller) and the cluster DNS. */
export interface ClusterShape {
  /** The namespace of the ingress controller that alone may open Odoo's ports. */
  proxyNamespace: string;
  proxyPodLabels: Record<string, string>;
  /** Defaults: kube-system, k8s-app=kube-dns (kubeadm, k3s and the managed clusters alike). */
  dnsNamespace?: string;
  dnsPodLabels?: Record<string, string>;
  /** An external database server (no CloudNativePG cluster in the namespace): its address. */
  externalDatabase?: { cidr: string; port: number };
}

export interface OrganizationInput {
  slug: string;
  id: string;
  limits: Limits;
}

const ODOO_PORTS = [8069, 8072];
const POSTGRES_PORT = 5432;
/** Addresses tenants' Odoo never reaches on its way out: the cluster's and the clouds' metadata. */
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'];

export const namespaceOf = (slug: string): string => dnsLabel(`marina-org-${slug}`, 'namespace');

const tcp = (port: number) => ({ protocol: 'TCP', port });
const role = (value: string) => ({ matchLabels: { [ROLE_LABEL]: value } });
const notDatabase = { key: ROLE_LABEL, operator: 'NotIn', values: ['database', 'isolated'] };
// Tools that run on a tenant's files alone (a filestore copy) get no network at all, not even DNS.
const notIsolated = { key: ROLE_LABEL, operator: 'NotIn', values: ['isolated'] };
const namespaceNamed = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });

export function renderOrganization(org: OrganizationInput, cluster: ClusterShape): Manifest[] {
  const namespace = namespaceOf(org.slug);
  const labels = { ...K8S_MANAGED_BY, 'marina.io/organization': org.id };
  const meta = (name: string) => ({ name, namespace, labels });
  return [
    // The restricted Pod Security Standard: the API server itself refuses privileged pods here.
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        labels: {
          ...labels,
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    },
    ...quota(org.limits, meta),
    ...networkPolicies(cluster, meta),
  ];
}

function quota(limits: Limits, meta: (name: string) => Manifest['metadata']): Manifest[] {
  const instances = [limits.maxProduction, limits.maxStaging, limits.maxDevelopment];
  const count = instances.every((n) => n !== null) ? instances.reduce((a, b) => (a ?? 0) + (b ?? 0), 0) : null;
  const hard: Record<string, string> = {};
  if (count !== null) {
    // One Odoo pod and one volume per instance; a tool job may run beside each.
    hard.persistentvolumeclaims = String(count);
    hard.pods = String(count * 2);
    if (limits.maxCpus !== null) hard['limits.cpu'] = `${Math.round(limits.maxCpus * count * 1000)}m`;
    if (limits.maxMemoryMb !== null) hard['limits.memory'] = `${limits.maxMemoryMb * count}Mi`;
  }
  if (limits.storageMb !== null) hard['requests.storage'] = `${limits.storageMb}Mi`;
  // Services of type LoadBalancer or NodePort would expose Odoo around the proxy.
  hard['services.loadbalancers'] = '0';
  hard['services.nodeports'] = '0';
  const max: Record<string, string> = {};
  if (limits.maxCpus !== null) max.cpu = `${Math.round(limits.maxCpus * 1000)}m`;
  if (limits.maxMemoryMb !== null) max.memory = `${limits.maxMemoryMb}Mi`;
  return [
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta('plan'), spec: { hard } },
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: meta('plan'),
      spec: {
        limits: [
          {
            type: 'Container',
            // A container that says nothing gets what Marina's tool runs get on Docker.
            default: { cpu: '1', memory: '512Mi' },
            defaultRequest: { cpu: '100m', memory: '128Mi' },
            ...(Object.keys(max).length > 0 ? { max } : {}),
          },
        ],
      },
    },
  ];
}

function networkPolicies(cluster: ClusterShape, meta: (name: string) => Manifest['metadata']): Manifest[] {
  const policy = (name: string, spec: Record<string, unknown>): Manifest => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(name),
    spec,
  });
  const dns = {
    to: [
      {
        namespaceSelector: namespaceNamed(cluster.dnsNamespace ?? 'kube-system'),
        podSelector: { matchLabels: cluster.dnsPodLabels ?? { 'k8s-app': 'kube-dns' } },
      },
    ],
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  };
  const database = cluster.externalDatabase
    ? { to: [{ ipBlock: { cidr: cluster.externalDatabase.cidr } }], ports: [tcp(cluster.externalDatabase.port)] }
    : { to: [{ podSelector: role('database') }], ports: [tcp(POSTGRES_PORT)] };
  return [
    policy('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    policy('dns', { podSelector: { matchExpressions: [notIsolated] }, policyTypes: ['Egress'], egress: [dns] }),
    // Pods of the organization reach one another, except its database (below) and isolated tools.
    policy('same-namespace', {
      podSelector: { matchExpressions: [notDatabase] },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: { matchExpressions: [notDatabase] } }] }],
    }),
    policy('odoo-from-proxy', {
      podSelector: role('odoo'),
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            {
              namespaceSelector: namespaceNamed(cluster.proxyNamespace),
              podSelector: { matchLabels: cluster.proxyPodLabels },
            },
          ],
          ports: ODOO_PORTS.map(tcp),
        },
      ],
    }),
    // PostgreSQL answers Odoo and Marina's tools (pg_dump, pg_restore) of this namespace only.
    policy('database-from-odoo', {
      podSelector: role('database'),
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: role('odoo') }, { podSelector: role('tool') }], ports: [tcp(POSTGRES_PORT)] }],
    }),
    policy('odoo-to-database', {
      podSelector: { matchExpressions: [{ key: ROLE_LABEL, operator: 'In', values: ['odoo', 'tool'] }] },
      policyTypes: ['Egress'],
      egress: [database],
    }),
    // Odoo sends mail and calls web services; never the cluster's own addresses or metadata.
    policy('odoo-to-internet', {
      podSelector: role('odoo'),
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE_RANGES } }] }],
    }),
  ];
}
