/**
 * A one-off run (an Odoo command, pg_dump, a file helper) as a Kubernetes Job: run once, never
 * retried by Kubernetes (Marina's job decides), removed an hour after it ends.
 */
import type { OneOffSpec } from '../port.js';
import {
  dnsLabel,
  labelsAndAnnotations,
  type Manifest,
  mebibytes,
  millicores,
  ROLE_LABEL,
  refuseHostFolders,
} from './manifest.js';

export interface ToolPlacement {
  namespace: string;
  /** The claim holding each of Marina's volumes (an instance's data, an operation's scratch). */
  claimOf: (volume: string) => string;
  /** The uid Odoo's files belong to: every run is that user, whatever it does (docs/kubernetes.md). */
  uid: number;
  /** Labels of the pod whose claim the run mounts: a ReadWriteOnce claim is one node's at a time. */
  nextTo?: Record<string, string>;
}

export function renderToolJob(spec: OneOffSpec, placement: ToolPlacement): Manifest[] {
  const name = dnsLabel(spec.name, 'run name');
  const namespace = dnsLabel(placement.namespace, 'namespace');
  refuseHostFolders(spec.mounts ?? []);
  const { labels, annotations } = labelsAndAnnotations(spec.labels);
  const metadata = {
    name,
    namespace,
    labels,
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  const mounts = (spec.mounts ?? []).map((m, i) => ({ ...m, volume: `v${i}` }));
  const resources = {
    ...(spec.limits?.memoryBytes ? { memory: mebibytes(spec.limits.memoryBytes) } : {}),
    ...(spec.limits?.nanoCpus ? { cpu: millicores(spec.limits.nanoCpus) } : {}),
  };
  const secret = spec.config ? [`${name}-config`] : [];
  const job: Manifest = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata,
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: { ...labels, [ROLE_LABEL]: spec.network === 'none' ? 'isolated' : 'tool' } },
        spec: {
          restartPolicy: 'Never',
          ...(placement.nextTo
            ? {
                affinity: {
                  podAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: [
                      { labelSelector: { matchLabels: placement.nextTo }, topologyKey: 'kubernetes.io/hostname' },
                    ],
                  },
                },
              }
            : {}),
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: placement.uid,
            runAsGroup: placement.uid,
            fsGroup: placement.uid,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'run',
              image: spec.image,
              ...(spec.entrypoint ? { command: spec.entrypoint } : {}),
              args: spec.command,
              env: Object.entries(spec.env ?? {}).map(([key, value]) => ({ name: key, value })),
              ...(Object.keys(resources).length > 0 ? { resources: { limits: resources } } : {}),
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                ...mounts.map((m) => ({ name: m.volume, mountPath: m.target, readOnly: m.readOnly ?? false })),
                ...(spec.config
                  ? [
                      {
                        name: 'config',
                        mountPath: `${spec.config.dir}/${spec.config.name}`,
                        subPath: spec.config.name,
                        readOnly: true,
                      },
                    ]
                  : []),
              ],
            },
          ],
          volumes: [
            ...mounts.map((m) => ({
              name: m.volume,
              persistentVolumeClaim: {
                claimName: dnsLabel(placement.claimOf(m.source), 'claim'),
                readOnly: m.readOnly ?? false,
              },
            })),
            ...secret.map((secretName) => ({
              name: 'config',
              secret: { secretName, defaultMode: spec.config?.mode ?? 0o600 },
            })),
          ],
        },
      },
    },
  };
  if (!spec.config) return [job];
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...metadata, name: `${name}-config` },
      type: 'Opaque',
      stringData: { [spec.config.name]: spec.config.content },
    },
    job,
  ];
}
