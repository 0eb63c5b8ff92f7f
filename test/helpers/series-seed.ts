import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/db/database.js';
import type { InstanceSample } from '../../src/modules/metrics/sample.js';

/**
 * Instances written straight into Marina's tables (no container, no job): what the series tests and
 * the series benchmark need, an instance row the samples can belong to. Each one is `stopped`.
 */
export async function insertInstances(
  db: Db,
  count: number,
  options: { organizationId?: string; projectId?: string; prefix?: string } = {},
): Promise<{ organizationId: string; projectId: string; instanceIds: string[] }> {
  const tag = randomBytes(4).toString('hex');
  await db
    .insertInto('hosts')
    .values({ id: 'local', name: 'local', docker_host: 'unix:///var/run/docker.sock' })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const organizationId =
    options.organizationId ??
    (
      await db
        .insertInto('organizations')
        .values({ slug: `s${tag}`, name: `Series ${tag}` })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const projectId =
    options.projectId ??
    (
      await db
        .insertInto('projects')
        .values({ organization_id: organizationId, name: `p${tag}`, display_name: `P ${tag}`, odoo_version: '17.0' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const prefix = options.prefix ?? `i${tag}`;
  const rows = Array.from({ length: count }, (_, i) => {
    const name = count === 1 && options.prefix ? prefix : `${prefix}${i}`;
    return {
      organization_id: organizationId,
      project_id: projectId,
      name,
      stage: 'staging' as const,
      odoo_version: '17.0',
      host_id: 'local',
      database_server_id: null,
      db_name: `db_${tag}_${i}`,
      db_password: 'sealed',
      master_password: 'sealed',
      admin_login: 'admin@example.com',
      admin_password: 'sealed',
      language: 'en_US',
      country: null,
      cpus: 1,
      memory_mb: 1024,
      container_name: `c_${tag}_${i}`,
      volume_name: `v_${tag}_${i}`,
      container_id: null,
      http_port: null,
      status: 'stopped' as const,
      status_detail: null,
      health: null,
    };
  });
  const ids: string[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    const made = await db
      .insertInto('instances')
      .values(rows.slice(i, i + 500))
      .returning('id')
      .execute();
    ids.push(...made.map((r) => r.id));
  }
  return { organizationId, projectId, instanceIds: ids };
}

/** A sample with every figure known; `over` sets what a test looks at. */
export function sample(
  instanceId: string,
  organizationId: string,
  at: Date,
  over: Partial<InstanceSample> = {},
): InstanceSample {
  return {
    instanceId,
    organizationId,
    projectId: '00000000-0000-0000-0000-000000000000',
    stage: 'staging',
    hostId: 'local',
    at,
    up: true,
    cpuSecondsTotal: 10,
    memoryBytes: 300 * 1024 * 1024,
    memoryLimitBytes: 1024 * 1024 * 1024,
    databaseBytes: 40_000_000,
    filestoreBytes: 5_000_000,
    connections: 2,
    restarts: 0,
    requests: 10,
    responseP50Ms: 80,
    responseP95Ms: 400,
    ...over,
  };
}

/**
 * Thirty days of an instance as it might look: busy office hours, memory that climbs until a
 * restart, a database and filestore that grow, and three hours with no samples (Marina stopped).
 * A sample every 5 minutes, every minute in the last 26 hours; ends at `end`.
 */
export function monthOfSamples(instanceId: string, organizationId: string, end: Date): InstanceSample[] {
  const samples: InstanceSample[] = [];
  const endMs = end.getTime();
  const startMs = endMs - 30 * 24 * 3_600_000;
  const gapFrom = endMs - 10 * 24 * 3_600_000;
  let cpuSeconds = 1_000;
  let previous = startMs;
  for (let at = startMs; at <= endMs; ) {
    const hourOfDay = new Date(at).getUTCHours() + new Date(at).getUTCMinutes() / 60;
    const office = Math.max(0, Math.sin(((hourOfDay - 7) / 12) * Math.PI));
    const wobble = Math.sin(at / 3_700_000) * 0.5 + 0.5;
    const cores = 0.04 + office * 0.55 + wobble * 0.08;
    cpuSeconds += cores * ((at - previous) / 1000);
    previous = at;
    const days = (at - startMs) / 86_400_000;
    const sinceRestart = (at - startMs) % (6 * 86_400_000);
    if (at < gapFrom || at > gapFrom + 3 * 3_600_000) {
      samples.push(
        sample(instanceId, organizationId, new Date(at), {
          cpuSecondsTotal: cpuSeconds,
          memoryBytes: Math.round((380 + (sinceRestart / 86_400_000 / 6) * 420 + office * 90) * 1024 * 1024),
          memoryLimitBytes: 1024 * 1024 * 1024,
          requests: Math.round(4 + office * 95 + wobble * 12),
          responseP50Ms: Math.round(55 + office * 40 + wobble * 10),
          responseP95Ms: Math.round(240 + office * 520 + wobble * 160),
          databaseBytes: Math.round((120 + days * 1.6) * 1024 * 1024),
          filestoreBytes: Math.round((45 + Math.floor(days) * 0.9) * 1024 * 1024),
        }),
      );
    }
    at += endMs - at <= 26 * 3_600_000 ? 60_000 : 5 * 60_000;
  }
  return samples;
}
