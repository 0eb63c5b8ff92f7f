/**
 * One instance on Kubernetes, rendered from the same InstanceSpec the Docker runtime gets: a
 * StatefulSet of one Odoo pod with a PersistentVolumeClaim per data volume, odoo.conf in a Secret,
 * a Service, and an Ingress whose certificate cert-manager issues.
 */
import type { InstanceSpec } from '../port.js';
import {
  dnsLabel,
  labelsAndAnnotations,
  type Manifest,
  mebibytes,
  millicores,
  ROLE_LABEL,
  refuseHostFolders,
  restrictedContainer,
} from './manifest.js';

export interface InstancePlacement {
  namespace: string;
  /** Size of each data volume's claim, by the volume's name (Marina's storage limit of the plan). */
  storageBytes: number;
  storageClass?: string;
  /** Hostnames the proxy serves the instance on (its subdomain and custom domains). */
  hostnames: string[];
  ingressClass: string;
  /** cert-manager's ClusterIssuer (ACME) that issues the certificate of the hostnames. */
  clusterIssuer: string;
}

const ODOO_HTTP = 8069;
const ODOO_GEVENT = 8072;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function renderInstance(spec: InstanceSpec, placement: InstancePlacement): Manifest[] {
  const name = dnsLabel(spec.name, 'instance name');
  const namespace = dnsLabel(placement.namespace, 'namespace');
  for (const host of placement.hostnames)
    if (!HOSTNAME.test(host)) throw new Error(`${JSON.stringify(host)} is not a hostname`);
  const { labels, annotations } = labelsAndAnnotations(spec.labels);
  const meta = (objectName: string) => ({
    name: objectName,
    namespace,
    labels,
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  });
  const selector = { 'app.kubernetes.io/instance': name };
  refuseHostFolders(spec.mounts);
  const mounts = spec.mounts;
  const claims = mounts.map((m, i) => ({ mount: m, claim: dnsLabel(`data-${i}`, 'claim') }));
  const configSecret = `${name}-config`;
  const limits = { cpu: millicores(spec.limits.nanoCpus), memory: mebibytes(spec.limits.memoryBytes) };
  const [probeKind, ...probeCommand] = spec.healthcheck.test;
  if (probeKind !== 'CMD' || probeCommand.length === 0)
    throw new Error('the health check must be a command (CMD and its arguments)');

  const container = {
    name: 'odoo',
    image: spec.image,
    // Docker's command follows the image's entrypoint: Kubernetes calls that `args`.
    args: spec.command,
    env: Object.entries(spec.env).map(([key, value]) => ({ name: key, value })),
    ports: [
      { name: 'http', containerPort: ODOO_HTTP },
      { name: 'gevent', containerPort: ODOO_GEVENT },
    ],
    // Requests equal limits: the pod is Guaranteed, as a Docker limit is a hard one.
    resources: { limits, requests: limits },
    securityContext: restrictedContainer(spec.config.uid),
    readinessProbe: {
      exec: { command: probeCommand },
      periodSeconds: spec.healthcheck.intervalSeconds,
      timeoutSeconds: spec.healthcheck.timeoutSeconds,
      failureThreshold: spec.healthcheck.retries,
    },
    startupProbe: {
      exec: { command: probeCommand },
      periodSeconds: 2,
      timeoutSeconds: spec.healthcheck.timeoutSeconds,
      failureThreshold: Math.max(1, Math.ceil(spec.healthcheck.startPeriodSeconds / 2)),
    },
    volumeMounts: [
      ...claims.map(({ mount, claim }) => ({
        name: claim,
        mountPath: mount.target,
        readOnly: mount.readOnly ?? false,
      })),
      {
        name: 'config',
        mountPath: `${spec.config.dir}/${spec.config.name}`,
        subPath: spec.config.name,
        readOnly: true,
      },
      // The root file system is read-only: Odoo's temporary files (reports, uploads) go here.
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };

  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(configSecret),
      type: 'Opaque',
      // odoo.conf holds the database password and the master password.
      stringData: { [spec.config.name]: spec.config.content },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta(name),
      spec: {
        replicas: 1,
        serviceName: name,
        selector: { matchLabels: selector },
        // One pod at a time on the volume: the old one is gone before a new one starts.
        podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate' },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: { labels: { ...labels, ...selector, [ROLE_LABEL]: 'odoo' } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: {
              runAsNonRoot: true,
              fsGroup: spec.config.gid,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [container],
            volumes: [
              {
                name: 'config',
                secret: { secretName: configSecret, defaultMode: spec.config.mode },
              },
              { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
            ],
          },
        },
        volumeClaimTemplates: claims.map(({ mount, claim }) => ({
          metadata: { name: claim, labels, annotations: { 'marina.io/volume': mount.source } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            ...(placement.storageClass ? { storageClassName: placement.storageClass } : {}),
            resources: { requests: { storage: mebibytes(placement.storageBytes) } },
          },
        })),
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(name),
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [
          { name: 'http', port: ODOO_HTTP, targetPort: 'http' },
          { name: 'gevent', port: ODOO_GEVENT, targetPort: 'gevent' },
        ],
      },
    },
    ...(placement.hostnames.length > 0 ? [ingress(name, meta(name), placement)] : []),
  ];
}

function ingress(name: string, metadata: Manifest['metadata'], placement: InstancePlacement): Manifest {
  const backend = (port: string) => ({ service: { name, port: { name: port } } });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      ...metadata,
      annotations: { ...metadata.annotations, 'cert-manager.io/cluster-issuer': placement.clusterIssuer },
    },
    spec: {
      ingressClassName: placement.ingressClass,
      tls: [{ hosts: placement.hostnames, secretName: `${name}-tls` }],
      rules: placement.hostnames.map((host) => ({
        host,
        http: {
          paths: [
            // Odoo's live updates (bus) go to its gevent server, as the Caddy routes do.
            { path: '/websocket', pathType: 'Prefix', backend: backend('gevent') },
            { path: '/', pathType: 'Prefix', backend: backend('http') },
          ],
        },
      })),
    },
  };
}
