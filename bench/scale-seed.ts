/**
 * Seeds a Marina database with many instances for the scale bench: organizations, projects, instance
 * rows like the ones Marina writes, operations, and for the first ones a stand-in container each
 * (the stand-in image, sleeping, with a small memory limit and Marina's labels).
 */
import Docker from 'dockerode';
import type { Db } from '../src/db/database.js';
import type { Instance, InstanceStatus, Stage } from '../src/db/schema.js';
import { instanceLabels, runtimeNames } from '../src/modules/instances/odoo-container.js';
import { sealedAt } from '../src/platform/secrets/sealed-columns.js';
import type { SecretBox } from '../src/platform/secrets/secret-box.js';

export const STANDIN_IMAGE = 'marina-test/odoo-standin';
const CONTAINER_MEMORY = 24 * 1024 * 1024;

export interface SeedPlan {
  namespace: string;
  organizations: number;
  rows: number;
  /** The first `running` rows get a running container; the others are stopped, with no container. */
  running: number;
  firstPort: number;
  jobsPerInstance: number;
}

export interface Seeded {
  organizationIds: string[];
  slugs: string[];
  instances: Instance[];
}

/** Organizations and one project each, then the instance rows in chunks, round-robin over them. */
export async function seedRows(db: Db, box: SecretBox, plan: SeedPlan, offset = 0): Promise<Seeded> {
  const slugs = Array.from({ length: plan.organizations }, (_, i) => `scale-${i}`);
  const organizations = await db
    .insertInto('organizations')
    .values(slugs.map((slug) => ({ slug, name: `Scale ${slug}` })))
    .onConflict((oc) => oc.column('slug').doUpdateSet({ slug: (eb) => eb.ref('excluded.slug') }))
    .returning(['id', 'slug'])
    .execute();
  const projects = await Promise.all(
    organizations.map(async (org) => {
      const existing = await db
        .selectFrom('projects')
        .select('id')
        .where('organization_id', '=', org.id)
        .executeTakeFirst();
      if (existing) return existing;
      return db
        .insertInto('projects')
        .values({ organization_id: org.id, name: 'erp', display_name: 'ERP', odoo_version: '17.0' })
        .returning('id')
        .executeTakeFirstOrThrow();
    }),
  );
  const instances: Instance[] = [];
  const chunk = 250;
  for (let start = offset; start < offset + plan.rows; start += chunk) {
    const values = [];
    for (let n = start; n < Math.min(offset + plan.rows, start + chunk); n++) {
      const at = organizations[n % organizations.length];
      const project = projects[n % projects.length];
      if (!at || !project) throw new Error('no organization to seed into');
      values.push({
        ...instanceRow(box, plan.namespace, {
          organizationId: at.id,
          projectId: project.id,
          name: `i${String(n).padStart(5, '0')}`,
          status: n < plan.running ? 'running' : 'stopped',
          httpPort: plan.firstPort + n,
        }),
        stage: n % 5 === 0 ? ('production' as const) : ('development' as const),
        created_at: new Date(Date.UTC(2026, 0, 1) + n * 60_000),
      });
    }
    instances.push(...(await db.insertInto('instances').values(values).returningAll().execute()));
  }
  await seedJobs(db, instances, plan.jobsPerInstance);
  return { organizationIds: organizations.map((o) => o.id), slugs, instances };
}

/** An instance row as Marina writes one (a stand-in's: its secrets are sealed but never used). */
export function instanceRow(
  box: SecretBox,
  namespace: string,
  fields: { organizationId: string; projectId: string; name: string; status: InstanceStatus; httpPort: number | null },
) {
  const id = crypto.randomUUID();
  const names = runtimeNames(namespace, id);
  const sealed = (column: 'db_password' | 'master_password' | 'admin_password') =>
    box.seal('bench', sealedAt('instances', column, id));
  return {
    id,
    organization_id: fields.organizationId,
    project_id: fields.projectId,
    name: fields.name,
    stage: 'development' as Stage,
    odoo_version: '17.0',
    host_id: 'local',
    db_name: names.dbName,
    db_password: sealed('db_password'),
    master_password: sealed('master_password'),
    admin_login: 'admin@example.com',
    admin_password: sealed('admin_password'),
    language: 'en_US',
    country: null,
    cpus: 1,
    memory_mb: 512,
    container_name: names.containerName,
    volume_name: names.volumeName,
    http_port: fields.httpPort,
    status: fields.status,
  };
}

/** A history of finished jobs per instance, as months of backups and restarts leave behind. */
async function seedJobs(db: Db, instances: Instance[], perInstance: number): Promise<void> {
  const rows = instances.flatMap((instance, i) =>
    Array.from({ length: perInstance }, (_, j) => {
      const at = new Date(instance.created_at.getTime() + (j + 1) * 3_600_000 + i);
      return {
        kind: j % 3 === 0 ? 'instance.restart' : 'instance.backup',
        status: 'succeeded' as const,
        organization_id: instance.organization_id,
        host_id: 'local',
        target_type: 'instance',
        target_id: instance.id,
        target_label: `erp/${instance.name}`,
        step: null,
        steps: '[]',
        input: '{}',
        result: null,
        error: null,
        actor_id: null,
        actor_label: 'bench',
        created_at: at,
        started_at: at,
        finished_at: new Date(at.getTime() + 5000),
        progress: 100,
      };
    }),
  );
  for (let i = 0; i < rows.length; i += 1000)
    await db
      .insertInto('operations')
      .values(rows.slice(i, i + 1000))
      .execute();
}

/** A sleeping stand-in container per instance, labelled as Marina labels its own, `parallel` at a time. */
export async function startContainers(namespace: string, instances: Instance[], parallel = 6): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < instances.length) {
        const instance = instances[next++];
        if (!instance) return;
        await sleepingContainer(instance.container_name, instanceLabels(namespace, instance), true);
      }
    }),
  );
}

/** A stand-in container that only sleeps, with Marina's labels: created, and started when asked. */
export async function sleepingContainer(name: string, labels: Record<string, string>, start: boolean): Promise<void> {
  const container = await new Docker({ socketPath: '/var/run/docker.sock' }).createContainer({
    name,
    Image: STANDIN_IMAGE,
    Entrypoint: ['sleep', 'infinity'],
    Labels: labels,
    HostConfig: { Memory: CONTAINER_MEMORY, NetworkMode: 'none', Init: true },
  });
  if (start) await container.start();
}
