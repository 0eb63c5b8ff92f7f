/**
 * The manifests Marina would apply for one organization and one instance, validated against the
 * official Kubernetes schemas (kubernetes-models, generated from Kubernetes' OpenAPI document, and
 * the CloudNativePG CRDs), and their network policies checked for isolation between tenants.
 */

import { Cluster, Database } from '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { LimitRange, Namespace, ResourceQuota, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import type { Instance } from '../../db/schema.js';
import { type OdooRuntime, oneOffSpec, serverSpec } from '../../modules/instances/odoo-container.js';
import type { Limits } from '../../modules/plans/limits.js';
import { buildCatalog } from '../../odoo/versions.js';
import { renderDatabaseCluster } from './database.js';
import { renderInstance } from './instance.js';
import type { Manifest } from './manifest.js';
import { canConnect, type Pod } from './network-test-support.js';
import { namespaceOf, renderOrganization } from './organization.js';
import { renderToolJob } from './tools.js';

const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ResourceQuota': ResourceQuota,
  'v1/LimitRange': LimitRange,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
  'postgresql.cnpg.io/v1/Cluster': Cluster,
  'postgresql.cnpg.io/v1/Database': Database,
};

function validate(manifests: Manifest[]): void {
  for (const manifest of manifests) {
    const Model = models[`${manifest.apiVersion}/${manifest.kind}`];
    if (!Model) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`);
    // Round-tripped through JSON: what would be sent is what is checked.
    new Model(JSON.parse(JSON.stringify(manifest)) as never).validate();
  }
}

const limits: Limits = {
  maxProduction: 1,
  maxStaging: 2,
  maxDevelopment: 2,
  maxCpus: 2,
  maxMemoryMb: 4096,
  maxWorkers: 4,
  storageMb: 20_480,
  backupKeepDaily: 7,
  backupKeepWeekly: 4,
  backupKeepMonthly: 3,
  offsiteMb: null,
  maxCustomDomains: 2,
};
const cluster = { proxyNamespace: 'marina-edge', proxyPodLabels: { 'app.kubernetes.io/name': 'caddy' } };

function instanceOf(org: string, name: string): Instance {
  return {
    id: `00000000-0000-4000-8000-00000000000${name.length}`,
    organization_id: `org-${org}`,
    project_id: 'p1',
    name,
    stage: 'production',
    language: 'en_US',
    odoo_version: '17.0',
    db_name: `odoo_${org}_${name}`,
    volume_name: `marina-${org}-${name}-data`,
    container_name: `marina-${org}-${name}`,
    memory_mb: 2048,
    cpus: '1.5',
    http_port: null,
    gevent_port: null,
  } as unknown as Instance;
}

function runtimeOf(org: string): OdooRuntime {
  return {
    placement: { namespace: 'marina', network: `marina-net-${org}` },
    catalog: buildCatalog()['17.0'],
    endpoint: { host: 'postgres-rw', port: 5432 },
    secrets: { dbPassword: 'db secret', masterPassword: 'master secret' },
    addons: [],
  };
}

function tenant(org: string) {
  const namespace = namespaceOf(org);
  const instance = instanceOf(org, 'erp');
  const spec = serverSpec(runtimeOf(org), instance, null);
  return {
    namespace,
    spec,
    manifests: [
      ...renderOrganization({ slug: org, id: `org-${org}`, limits }, cluster),
      ...renderDatabaseCluster({
        namespace,
        image: 'postgres:15',
        storageBytes: 10 * 1024 ** 3,
        instances: [{ dbName: instance.db_name, passwordSecret: `${instance.container_name}-db` }],
      }),
      ...renderInstance(spec, {
        namespace,
        storageBytes: 5 * 1024 ** 3,
        hostnames: [`${org}.odoo.example.com`, `erp.${org}.example.org`],
        ingressClass: 'caddy',
        clusterIssuer: 'letsencrypt',
      }),
    ],
  };
}

const pod = (namespace: string, role: string, ip: string): Pod => ({
  namespace,
  labels: { 'marina.io/role': role },
  ip,
});

describe('Kubernetes manifests of one instance', () => {
  const a = tenant('acme');
  const b = tenant('globex');

  it('are valid against the official schemas, kinds and all', () => {
    validate([...a.manifests, ...b.manifests]);
    expect(a.manifests.map((m) => m.kind)).toEqual(
      expect.arrayContaining(['Namespace', 'ResourceQuota', 'LimitRange', 'NetworkPolicy', 'Cluster', 'Database']),
    );
    expect(a.manifests.map((m) => m.kind)).toEqual(
      expect.arrayContaining(['Secret', 'StatefulSet', 'Service', 'Ingress']),
    );
  });

  it('a broken object fails the schema check (the check can fail)', () => {
    const statefulSet = a.manifests.find((m) => m.kind === 'StatefulSet') as Manifest;
    const broken = { ...statefulSet, spec: { ...(statefulSet.spec as object), replicas: 'one' } };
    expect(() => validate([broken])).toThrow();
  });

  it('run Odoo as the Docker runtime does: its command, limits, user, odoo.conf and data volume', () => {
    const set = a.manifests.find((m) => m.kind === 'StatefulSet') as Manifest;
    const pod = (set.spec as { template: { spec: unknown } }).template.spec as {
      containers: Record<string, unknown>[];
      securityContext: Record<string, unknown>;
      automountServiceAccountToken: boolean;
    };
    const [odoo] = pod.containers;
    expect(odoo?.args).toEqual(a.spec.command);
    expect(odoo?.resources).toEqual({
      limits: { cpu: '1500m', memory: '2048Mi' },
      requests: { cpu: '1500m', memory: '2048Mi' },
    });
    expect(odoo?.securityContext).toMatchObject({
      runAsUser: 101,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(odoo?.volumeMounts).toEqual(
      expect.arrayContaining([expect.objectContaining({ mountPath: '/var/lib/odoo' })]),
    );
    const secret = a.manifests.find((m) => m.kind === 'Secret') as Manifest;
    expect((secret.stringData as Record<string, string>)['odoo.conf']).toContain('db_name = odoo_acme_erp');
    const namespace = a.manifests.find((m) => m.kind === 'Namespace') as Manifest;
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it("bounds the namespace by the plan: all its instances' limits, storage, no NodePort or LoadBalancer", () => {
    const quota = a.manifests.find((m) => m.kind === 'ResourceQuota') as Manifest;
    expect((quota.spec as { hard: Record<string, string> }).hard).toEqual({
      persistentvolumeclaims: '5',
      pods: '10',
      'limits.cpu': '10000m',
      'limits.memory': '20480Mi',
      'requests.storage': '20480Mi',
      'services.loadbalancers': '0',
      'services.nodeports': '0',
    });
  });

  it("isolates tenants: A's Odoo cannot open B's PostgreSQL or B's Odoo; the proxy reaches both", () => {
    const manifests = [...a.manifests, ...b.manifests];
    const odooA = pod(a.namespace, 'odoo', '10.1.0.10');
    const dbA = pod(a.namespace, 'database', '10.1.0.11');
    const odooB = pod(b.namespace, 'odoo', '10.1.1.10');
    const dbB = pod(b.namespace, 'database', '10.1.1.11');
    const proxy: Pod = { namespace: 'marina-edge', labels: { 'app.kubernetes.io/name': 'caddy' }, ip: '10.1.9.1' };
    expect(canConnect(manifests, odooA, dbA, 5432)).toBe(true);
    expect(canConnect(manifests, odooA, dbB, 5432)).toBe(false);
    expect(canConnect(manifests, odooA, odooB, 8069)).toBe(false);
    expect(canConnect(manifests, proxy, odooA, 8069)).toBe(true);
    expect(canConnect(manifests, proxy, odooB, 8072)).toBe(true);
    // Only the proxy: not another pod of the edge's namespace, nor the proxy on another port.
    expect(canConnect(manifests, { ...proxy, labels: {} }, odooA, 8069)).toBe(false);
    expect(canConnect(manifests, proxy, dbA, 5432)).toBe(false);
  });

  it('opens PostgreSQL to Odoo and tools only, DNS to all but isolated runs, the internet but not private ranges', () => {
    const manifests = a.manifests;
    const dns: Pod = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, ip: '10.96.0.10' };
    const dbA = pod(a.namespace, 'database', '10.1.0.11');
    expect(canConnect(manifests, pod(a.namespace, 'tool', '10.1.0.12'), dbA, 5432)).toBe(true);
    expect(canConnect(manifests, pod(a.namespace, 'isolated', '10.1.0.13'), dbA, 5432)).toBe(false);
    expect(canConnect(manifests, pod(a.namespace, 'other', '10.1.0.14'), dbA, 5432)).toBe(false);
    expect(canConnect(manifests, pod(a.namespace, 'odoo', '10.1.0.10'), dns, 53)).toBe(true);
    expect(canConnect(manifests, pod(a.namespace, 'isolated', '10.1.0.13'), dns, 53)).toBe(false);
    expect(canConnect(manifests, pod(a.namespace, 'odoo', '10.1.0.10'), { ip: '203.0.113.25' }, 587)).toBe(true);
    expect(canConnect(manifests, pod(a.namespace, 'odoo', '10.1.0.10'), { ip: '169.254.169.254' }, 80)).toBe(false);
    expect(canConnect(manifests, pod(a.namespace, 'tool', '10.1.0.12'), { ip: '203.0.113.25' }, 443)).toBe(false);
  });

  it('renders a tool run as a Job of Odoo’s user, isolated when it has no network, valid too', () => {
    const instance = instanceOf('acme', 'erp');
    const run = oneOffSpec(runtimeOf('acme'), instance, { suffix: 'init', cmd: ['odoo', '--stop-after-init'] });
    const manifests = renderToolJob(
      { ...run, network: 'none' },
      {
        namespace: a.namespace,
        claimOf: () => 'data-0-marina-acme-erp-0',
        uid: 101,
        nextTo: { 'app.kubernetes.io/instance': 'marina-acme-erp' },
      },
    );
    validate(manifests);
    const job = manifests.find((m) => m.kind === 'Job') as Manifest;
    const template = (job.spec as { template: { metadata: { labels: Record<string, string> } } }).template;
    expect(template.metadata.labels['marina.io/role']).toBe('isolated');
    expect((job.spec as { backoffLimit: number }).backoffLimit).toBe(0);
    expect(JSON.stringify(job.spec)).toContain('"topologyKey":"kubernetes.io/hostname"');
  });

  it('refuses what has no Kubernetes equivalent or would not be a valid name: host folders, bad hostnames', () => {
    const withSource = serverSpec(
      { ...runtimeOf('acme'), catalog: { ...buildCatalog()['17.0'], sourceMount: '/srv/odoo' } },
      instanceOf('acme', 'erp'),
      null,
    );
    const placement = { namespace: a.namespace, storageBytes: 1, hostnames: [], ingressClass: 'c', clusterIssuer: 'i' };
    expect(() => renderInstance(withSource, placement)).toThrow(/folder of Marina's host/);
    expect(() => renderInstance(a.spec, { ...placement, hostnames: ['evil host'] })).toThrow(/not a hostname/);
    expect(() => renderInstance({ ...a.spec, name: 'Bad_Name' }, placement)).toThrow(/not a valid Kubernetes name/);
    expect(() => namespaceOf('UPPER')).toThrow();
  });
});
