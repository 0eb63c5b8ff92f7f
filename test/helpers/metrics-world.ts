import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/db/database.js';
import type { Stage } from '../../src/db/schema.js';
import type { MemoryRuntime } from '../../src/runtime/memory.js';

/**
 * Instance rows written straight into Marina's tables (no job): what the /metrics tests and bench
 * sample. Names are distinctive on purpose, so a test can prove none of them reaches a label.
 */
export async function insertInstanceRows(
  db: Db,
  organizationId: string,
  names: string[],
  options: { stage?: Stage; project?: string } = {},
): Promise<{ projectId: string; instances: { id: string; name: string; containerName: string }[] }> {
  const tag = randomBytes(4).toString('hex');
  await db
    .insertInto('hosts')
    .values({ id: 'local', name: 'local', docker_host: 'unix:///var/run/docker.sock' })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const project = await db
    .insertInto('projects')
    .values({
      organization_id: organizationId,
      name: options.project ?? `p${tag}`,
      display_name: options.project ?? `P ${tag}`,
      odoo_version: '17.0',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const instances: { id: string; name: string; containerName: string }[] = [];
  for (let i = 0; i < names.length; i += 500) {
    const rows = names.slice(i, i + 500).map((name, j) => ({
      organization_id: organizationId,
      project_id: project.id,
      name,
      stage: options.stage ?? ('production' as const),
      odoo_version: '17.0',
      host_id: 'local',
      database_server_id: null,
      db_name: `db_${tag}_${i + j}`,
      db_password: 'sealed',
      master_password: 'sealed',
      admin_login: 'admin@example.com',
      admin_password: 'sealed',
      language: 'en_US',
      country: null,
      cpus: 1,
      memory_mb: 1024,
      container_name: `c_${tag}_${i + j}`,
      volume_name: `v_${tag}_${i + j}`,
      container_id: null,
      http_port: null,
      status: 'running' as const,
      status_detail: null,
      health: null,
    }));
    const made = await db.insertInto('instances').values(rows).returning(['id', 'name', 'container_name']).execute();
    instances.push(...made.map((r) => ({ id: r.id, name: r.name, containerName: r.container_name })));
  }
  return { projectId: project.id, instances };
}

/** A running container in the in-memory runtime (a STAND-IN) for an instance row, with a memory limit. */
export async function runInMemory(runtime: MemoryRuntime, containerName: string, memoryBytes: number): Promise<void> {
  runtime.images.add('stand-in/odoo');
  await runtime.createInstance({
    name: containerName,
    image: 'stand-in/odoo',
    command: ['sleep', 'infinity'],
    env: {},
    labels: {},
    network: 'none',
    mounts: [],
    config: { dir: '/etc/odoo', name: 'odoo.conf', content: '', uid: 101, gid: 101, mode: 0o640 },
    limits: { memoryBytes, nanoCpus: 1e9, pids: 100 },
    healthcheck: { test: ['NONE'], intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 0 },
  });
  await runtime.start(containerName);
}

/** Parses the Prometheus text format strictly enough to catch a malformed line; returns the samples. */
export function parseExposition(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') typed.add(meta[2] as string);
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    const value = Number(match[3] === '+Inf' ? Number.POSITIVE_INFINITY : match[3]);
    if (Number.isNaN(value)) throw new Error(`not a number: ${line}`);
    const name = match[1] as string;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (!typed.has(name) && !typed.has(family)) throw new Error(`a sample without # TYPE: ${line}`);
    samples.push({ name, labels, value });
  }
  return samples;
}
