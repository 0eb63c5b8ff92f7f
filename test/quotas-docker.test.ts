import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseSize } from '../src/adapters/postgres/admin.js';
import { LOCAL_HOST_ID } from '../src/modules/hosts/hosts.js';
import { ODOO_DATA_DIR } from '../src/modules/instances/odoo-container.js';
import { filestoreProbeSpec } from '../src/modules/plans/filestore-size.js';
import { as, type TestApp } from './helpers/app.js';
import {
  docker,
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from './helpers/docker.js';
import { makeOrganization, makeProject, requestInstance } from './helpers/factories.js';
import { followJob } from './helpers/jobs.js';

/**
 * Storage as Marina measures it, on the real engine and PostgreSQL (the Odoo STAND-IN as the
 * instance): pg_database_size through the superuser connection and `du` of the filestore from a
 * read-only one-off without network, after a backup completed; then the plan refuses new data once
 * it is full, and what the tenant does to its files cannot hide them.
 */
const namespace = testNamespace();
let marina: Awaited<ReturnType<typeof startDockerMarina>>;
let t: TestApp;

beforeAll(async () => {
  await requireDocker();
  marina = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin });
  t = marina.t;
}, 120_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
});

async function execAsOdoo(container: string, cmd: string[]) {
  const exec = await docker
    .getContainer(container)
    .exec({ Cmd: cmd, User: 'odoo', AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  await new Promise((resolve) => {
    stream.on('end', resolve);
    stream.resume();
  });
  return (await exec.inspect()).ExitCode;
}

describe('storage usage on Docker', () => {
  it('measures database and filestore after a backup, and the plan refuses new data when full', async () => {
    const call = as(t, marina.admin);
    const org = (await call('GET', '/api/v1/organizations/acme')).json<{ organization: { id: string } }>().organization;
    const plan = await call('POST', '/api/v1/plans', { slug: 'tiny', name: 'Tiny', limits: { storageMb: 5 } });
    expect(plan.statusCode, plan.body).toBe(201);
    const { instance } = await provisionInstance(marina, { name: 'main' });
    const row = await t.services.instances.row(instance.id);
    // 3 MB of attachments, written as Odoo would (its user, its filestore folder).
    const folder = `${ODOO_DATA_DIR}/filestore/${row.db_name}`;
    expect(await execAsOdoo(row.container_name, ['mkdir', '-p', folder])).toBe(0);
    expect(
      await execAsOdoo(row.container_name, ['dd', 'if=/dev/zero', `of=${folder}/attachment`, 'bs=100000', 'count=30']),
    ).toBe(0);
    // A subscription made now: the instance was created without limits.
    const planId = plan.json<{ plan: { id: string } }>().plan.id;
    await t.db.transaction().execute((trx) => t.services.subscriptions.start(trx, org.id, planId, { trial: false }));

    const backup = await call('POST', `/api/v1/instances/${instance.id}/backups`, {});
    expect(backup.statusCode, backup.body).toBe(202);
    const followed = await followJob(marina.baseUrl, marina.headers, backup.json<{ job: { id: string } }>().job.id);
    expect(followed.job.status).toBe('succeeded');

    const usage = await t.db
      .selectFrom('instance_usage')
      .selectAll()
      .where('instance_id', '=', instance.id)
      .executeTakeFirstOrThrow();
    const server = await t.services.databaseServers.get(row.database_server_id ?? '');
    const actual = await databaseSize(await t.services.databaseServers.connection(server), row.db_name);
    expect(Number(usage.database_bytes)).toBeGreaterThan(actual * 0.9);
    expect(Number(usage.database_bytes)).toBeLessThan(actual * 1.1);
    expect(Number(usage.filestore_bytes)).toBeGreaterThanOrEqual(3_000_000);
    expect(Number(usage.filestore_bytes)).toBeLessThan(3_100_000);

    const report = await call('GET', `/api/v1/organizations/${org.id}/usage`);
    const body = report.json<{
      usage: { storageBytes: number };
      can: { createDevelopment: { ok: boolean; reason: string } };
    }>();
    expect(body.usage.storageBytes).toBe(Number(usage.database_bytes) + Number(usage.filestore_bytes));
    // The stand-in's database alone is several MB: over 5 MB, new data is refused.
    expect(body.can.createDevelopment.ok).toBe(false);
    expect(body.can.createDevelopment.reason).toMatch(/Plan Tiny allows 5 MB of storage; you use/);
    const project = (await call('GET', `/api/v1/instances/${instance.id}`)).json<{ instance: { projectId: string } }>();
    const refused = await call('POST', '/api/v1/instances', {
      project: project.instance.projectId,
      name: 'more',
      stage: 'development',
      memoryMb: 768,
      adminLogin: 'o@acme.test',
    });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('MARINA_E_QUOTA_EXCEEDED');

    // The tenant's code cannot hide files: a folder it made unreadable to everyone is counted (the
    // one-off reads past modes), and the filestore swapped for a symlink is counted in full.
    expect(await execAsOdoo(row.container_name, ['mkdir', `${folder}/hidden`])).toBe(0);
    expect(
      await execAsOdoo(row.container_name, ['dd', 'if=/dev/zero', `of=${folder}/hidden/blob`, 'bs=100000', 'count=20']),
    ).toBe(0);
    expect(await execAsOdoo(row.container_name, ['chmod', '000', `${folder}/hidden`])).toBe(0);
    await t.services.usage.measure(instance.id);
    const hidden = await t.db
      .selectFrom('instance_usage')
      .select('filestore_bytes')
      .where('instance_id', '=', instance.id)
      .executeTakeFirstOrThrow();
    expect(Number(hidden.filestore_bytes)).toBeGreaterThanOrEqual(5_000_000);
    expect(Number(hidden.filestore_bytes)).toBeLessThan(5_100_000);
    expect(await execAsOdoo(row.container_name, ['chmod', '700', `${folder}/hidden`])).toBe(0);
    expect(await execAsOdoo(row.container_name, ['mv', folder, `${folder}-real`])).toBe(0);
    expect(await execAsOdoo(row.container_name, ['ln', '-s', `${folder}-real`, folder])).toBe(0);
    await t.services.usage.measure(instance.id);
    const linked = await t.db
      .selectFrom('instance_usage')
      .select('filestore_bytes')
      .where('instance_id', '=', instance.id)
      .executeTakeFirstOrThrow();
    expect(Number(linked.filestore_bytes)).toBeGreaterThanOrEqual(5_000_000);

    // A link to a folder only the container has (its writable layer): the files in the volume
    // still count, wherever the link points.
    expect(await execAsOdoo(row.container_name, ['mkdir', '-p', '/tmp/elsewhere'])).toBe(0);
    expect(await execAsOdoo(row.container_name, ['ln', '-sfn', '/tmp/elsewhere', folder])).toBe(0);
    await t.services.usage.measure(instance.id);
    const nowhere = await t.db
      .selectFrom('instance_usage')
      .select('filestore_bytes')
      .where('instance_id', '=', instance.id)
      .executeTakeFirstOrThrow();
    expect(Number(nowhere.filestore_bytes)).toBeGreaterThanOrEqual(5_000_000);
    expect(await execAsOdoo(row.container_name, ['ln', '-sfn', `${folder}-real`, folder])).toBe(0);

    // Stopped, it is still measured from outside: its files did not change, nor does the figure.
    const stop = await call('POST', `/api/v1/instances/${instance.id}/stop`, {});
    expect(stop.statusCode, stop.body).toBe(202);
    await followJob(marina.baseUrl, marina.headers, stop.json<{ job: { id: string } }>().job.id);
    await t.services.usage.measure(instance.id);
    const after = await t.db
      .selectFrom('instance_usage')
      .select('filestore_bytes')
      .where('instance_id', '=', instance.id)
      .executeTakeFirstOrThrow();
    expect(after.filestore_bytes).toBe(linked.filestore_bytes);
  }, 240_000);
});

describe('the one-off that measures a filestore', () => {
  it('runs as root with only DAC_READ_SEARCH, no network and the volume read-only', async () => {
    // Its own organization: the other test fills acme's plan.
    const call = as(t, marina.admin);
    await makeOrganization(call, { slug: 'probe' });
    const project = await makeProject(call, { organization: 'probe', name: 'probe' });
    const made = await requestInstance(call, { project: project.id, name: 'probe' });
    expect((await followJob(marina.baseUrl, marina.headers, made.job.id)).job.status).toBe('succeeded');
    const row = await t.services.instances.row(made.instance.id);
    const runtime = await t.services.hosts.reachableRuntime(LOCAL_HOST_ID);
    const probe = { image: t.config.backups.toolsImage ?? t.config.postgresImage, namespace: t.config.namespace };
    const spec = filestoreProbeSpec(row, probe.image, probe.namespace);

    // The container exactly as Marina makes it for the measurement (created, not started), inspected.
    const inspected = await runtime.withData(spec, () => docker.getContainer(spec.name).inspect());
    expect(inspected.Config.User).toBe('0:0');
    expect(inspected.HostConfig.NetworkMode).toBe('none');
    expect(inspected.HostConfig.CapDrop).toEqual(['ALL']);
    expect(inspected.HostConfig.CapAdd).toEqual(['DAC_READ_SEARCH']);
    expect(inspected.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(inspected.HostConfig.Mounts).toEqual([
      expect.objectContaining({ Type: 'volume', Source: row.volume_name, Target: ODOO_DATA_DIR, ReadOnly: true }),
    ]);
    expect(inspected.Config.Entrypoint).toEqual(['timeout', '-s', 'KILL', '300', 'du']);
    expect(inspected.Config.Cmd).toEqual(['-sbx', ODOO_DATA_DIR]);

    // Run with another command, the same container shows it: a loopback only, and writes refused.
    const seen = await runtime.run({
      ...spec,
      entrypoint: ['sh', '-c'],
      command: [`ls /sys/class/net; touch ${ODOO_DATA_DIR}/written || echo refused`],
    });
    expect(seen.output.split(/\s+/).filter((word) => word !== '')).toEqual(expect.arrayContaining(['lo', 'refused']));
    expect(seen.output).not.toMatch(/eth0/);
    expect(seen.output).toMatch(/Read-only file system/);
    expect(await execAsOdoo(row.container_name, ['test', '-e', `${ODOO_DATA_DIR}/written`])).toBe(1);
  }, 180_000);
});

describe('Odoo sessions, counted from the session files', () => {
  it('counts sessions used within the hour; old ones, strays and links the tenant made do not count', async () => {
    const call = as(t, marina.admin);
    await makeOrganization(call, { slug: 'sessions' });
    const project = await makeProject(call, { organization: 'sessions', name: 'erp' });
    const made = await requestInstance(call, { project: project.id, name: 'main' });
    expect((await followJob(marina.baseUrl, marina.headers, made.job.id)).job.status).toBe('succeeded');
    const row = await t.services.instances.row(made.instance.id);
    const counted = async () => {
      await t.services.usage.measure(row.id);
      const usage = await t.db
        .selectFrom('instance_usage')
        .select('odoo_sessions')
        .where('instance_id', '=', row.id)
        .executeTakeFirstOrThrow();
      return usage.odoo_sessions;
    };
    // No session folder yet: no session, measured (0, not unknown).
    expect(await counted()).toBe(0);

    // As Odoo keeps them: <data_dir>/sessions/<first two characters>/<sid>, written by its user.
    const sessions = `${ODOO_DATA_DIR}/sessions`;
    for (const dir of ['ab', 'cd', 'ef', 'gh', 'zz'])
      expect(await execAsOdoo(row.container_name, ['mkdir', '-p', `${sessions}/${dir}`])).toBe(0);
    for (const file of ['ab/ab12', 'cd/cd34', 'gh/x\ns'])
      expect(await execAsOdoo(row.container_name, ['touch', `${sessions}/${file}`])).toBe(0);
    // A session last used two hours ago, a stray file, and a link pointing out of the volume.
    expect(await execAsOdoo(row.container_name, ['touch', '-d', '2 hours ago', `${sessions}/zz/zz56`])).toBe(0);
    expect(await execAsOdoo(row.container_name, ['touch', `${sessions}/stray`])).toBe(0);
    expect(await execAsOdoo(row.container_name, ['ln', '-s', '/etc/passwd', `${sessions}/ef/ef78`])).toBe(0);
    expect(await counted()).toBe(3);

    const sample = (await t.services.metricsSampler.sample()).find((s) => s.instanceId === row.id);
    expect(sample?.odooSessions).toBe(3);
  }, 180_000);
});
