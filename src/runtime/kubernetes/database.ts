/**
 * An organization's PostgreSQL on Kubernetes: a CloudNativePG cluster in its namespace, with one
 * role and one database per instance declared on it (the operator creates them), so that no Marina
 * code needs a superuser connection there. An external server needs none of this: only the
 * organization's egress policy to its address.
 */
import { dnsLabel, K8S_MANAGED_BY, type Manifest, ROLE_LABEL } from './manifest.js';

export interface DatabaseClusterInput {
  namespace: string;
  /** The official postgres image of the version Marina runs today (CloudNativePG's own images work too). */
  image: string;
  storageBytes: number;
  storageClass?: string;
  /** Each instance's role and database (the same name, as on Docker) and its password's Secret. */
  instances: { dbName: string; passwordSecret: string }[];
}

export const DATABASE_CLUSTER = 'postgres';
const DATABASE_NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function renderDatabaseCluster(input: DatabaseClusterInput): Manifest[] {
  const namespace = dnsLabel(input.namespace, 'namespace');
  for (const { dbName } of input.instances)
    if (!DATABASE_NAME.test(dbName)) throw new Error(`refusing the database name ${JSON.stringify(dbName)}`);
  const metadata = (name: string) => ({ name, namespace, labels: { ...K8S_MANAGED_BY } });
  return [
    {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata: metadata(DATABASE_CLUSTER),
      spec: {
        instances: 1,
        imageName: input.image,
        // The network policies open PostgreSQL to pods with this role only.
        inheritedMetadata: { labels: { [ROLE_LABEL]: 'database' } },
        enableSuperuserAccess: false,
        storage: {
          size: `${Math.ceil(input.storageBytes / (1024 * 1024))}Mi`,
          ...(input.storageClass ? { storageClass: input.storageClass } : {}),
        },
        managed: {
          roles: input.instances.map(({ dbName, passwordSecret }) => ({
            name: dbName,
            ensure: 'present',
            login: true,
            superuser: false,
            createdb: false,
            createrole: false,
            inherit: true,
            passwordSecret: { name: dnsLabel(passwordSecret, 'secret') },
          })),
        },
      },
    },
    ...input.instances.map(
      ({ dbName }): Manifest => ({
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'Database',
        metadata: metadata(dnsLabel(dbName.replaceAll('_', '-'), 'database object')),
        spec: {
          cluster: { name: DATABASE_CLUSTER },
          name: dbName,
          owner: dbName,
          ensure: 'present',
          // Deleting the object leaves the data: Marina deletes databases through its own job.
          databaseReclaimPolicy: 'retain',
        },
      }),
    ),
  ];
}
