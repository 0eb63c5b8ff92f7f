import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { makeOrganizationWithAdmin, makeProject } from '../../../test/helpers/factories.js';
import { until } from '../../../test/images-test-support.js';
import { systemContext } from '../../platform/context.js';
import { planJob } from '../../platform/jobs/define.js';
import { MemoryRuntime } from '../../runtime/memory.js';
import { stopJob } from '../instances/job-specs.js';
import { moveJob } from './jobs/specs.js';

/**
 * What a move asks before it is queued (#16): only platform admins, the production name confirmed,
 * a target that is a ready node with room (or the one placement picks), never the node it is on.
 * The nodes are `hosts` rows as Swarm's follower leaves them; the background runner is not started,
 * so a queued move stays queued. The move itself runs in test/cluster/instances-on-nodes.test.ts.
 */
const IMAGE = 'marina-test/odoo-standin';
const GIB = 1024 ** 3;
let t: TestApp;
let admin: Browser;
let stranger: Browser;
let instanceId: string;

const node = (id: string, values: { node_state: string; availability: string; memory_bytes?: number }) => ({
  id,
  name: id,
  docker_host: `tcp://192.0.2.${id.slice(-1)}:2376`,
  role: 'worker' as const,
  address: `192.0.2.${id.slice(-1)}`,
  cpus: 4,
  memory_bytes: values.memory_bytes ?? 8 * GIB,
  state: 'ok' as const,
  node_state: values.node_state,
  availability: values.availability,
});

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtmemmove',
      MARINA_TEST_CAPTURE_LOGS: '1',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
    },
    { runtime: () => new MemoryRuntime({ images: [IMAGE] }) },
  );
  admin = await adminBrowser(t);
  await t.services.startBackground();
  await t.db
    .insertInto('hosts')
    .values([
      node('node1', { node_state: 'ready', availability: 'active' }),
      node('node2', { node_state: 'ready', availability: 'active' }),
      node('node3', { node_state: 'down', availability: 'active' }),
      node('node4', { node_state: 'ready', availability: 'active', memory_bytes: 1 * GIB }),
    ] as never)
    .execute();
  const { organization, admin: orgAdmin } = await makeOrganizationWithAdmin(t, admin, { slug: 'acme' });
  stranger = orgAdmin;
  const project = await makeProject(as(t, admin), { organization: 'acme' });
  const row = await t.db
    .insertInto('instances')
    .values({
      organization_id: organization.id,
      project_id: project.id,
      name: 'shop',
      stage: 'production',
      odoo_version: '17.0',
      host_id: 'node1',
      db_name: 'mtmemmove_shop',
      db_password: 'unused',
      master_password: 'unused',
      admin_login: 'admin@acme.test',
      admin_password: 'unused',
      language: 'en_US',
      cpus: 1,
      memory_mb: 2048,
      container_name: 'mtmemmove-shop',
      volume_name: 'mtmemmove-shop-data',
      status: 'running',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  instanceId = row.id;
});

afterAll(async () => {
  await t?.close();
});

const move = (body: unknown, who: Browser = admin) => as(t, who)('POST', `/api/v1/instances/${instanceId}/move`, body);

describe('moving an instance between nodes', () => {
  it('is for platform admins only: an organization admin is refused and nothing is queued', async () => {
    const refused = await move({ to: 'node2', confirm: 'shop' }, stranger);
    expect(refused.statusCode).toBe(403);
    expect(await t.db.selectFrom('operations').select('id').where('kind', '=', 'instance.move').execute()).toEqual([]);
  });

  it('wants the production name, a node id, and a node that can take it', async () => {
    expect((await move({ to: 'node2' })).json().error.code).toBe('MARINA_E_CONFIRMATION_REQUIRED');
    expect((await move({ to: '../etc', confirm: 'shop' })).statusCode).toBe(400);
    const down = await move({ to: 'node3', confirm: 'shop' });
    expect([down.statusCode, down.json().error.code, down.json().error.message]).toEqual([
      409,
      'MARINA_E_NO_PLACEMENT',
      'node3 is down',
    ]);
    const small = (await move({ to: 'node4', confirm: 'shop' })).json().error;
    expect(small.code).toBe('MARINA_E_NO_PLACEMENT');
    expect(small.message).toMatch(/^node4 /);
    expect((await move({ to: 'node9', confirm: 'shop' })).json().error.message).toBe(
      'node9 is not a node of the cluster.',
    );
    expect((await move({ to: 'node1', confirm: 'shop' })).json().error.code).toBe('MARINA_E_CONFLICT');
    expect(await t.db.selectFrom('operations').select('id').where('kind', '=', 'instance.move').execute()).toEqual([]);
  });

  it('refuses an instance a job holds', async () => {
    // A job queued and never run (nothing enqueues it) holds the instance as a running one would.
    const held = await t.db.transaction().execute((trx) =>
      t.services.operations.insert(
        trx,
        { kind: 'system', label: 'test' },
        {
          job: planJob(stopJob, {}),
          organizationId: null,
          hostId: 'node1',
          target: { type: 'instance', id: instanceId, label: 'erp/shop' },
        },
      ),
    );
    try {
      expect((await move({ to: 'node2', confirm: 'shop' })).json().error.code).toBe('MARINA_E_INSTANCE_BUSY');
    } finally {
      await t.db.updateTable('operations').set({ status: 'cancelled' }).where('id', '=', held.id).execute();
    }
  });

  it('queues one job to the node placement picks, audited', async () => {
    const queued = await move({ confirm: 'shop' });
    expect(queued.statusCode, t.logs.filter((l) => l.includes('"err"')).join('\n')).toBe(202);
    const { job, node: to } = queued.json<{
      job: { id: string; kind: string; steps: { name: string }[] };
      node: string;
    }>();
    // node2: node3 is down, node4 too small, node1 is where it is.
    expect(to).toBe('node2');
    expect(job.kind).toBe('instance.move');
    expect(job.steps.map((s) => s.name)).toEqual([
      'prepare',
      'copy',
      'stop',
      'sync',
      'switch',
      'start',
      'health',
      'cleanup',
    ]);
    const audit = await t.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('action', '=', 'instance.move')
      .execute();
    expect(audit).toEqual([{ action: 'instance.move', details: { job: job.id, from: 'node1', to: 'node2' } }]);

    // No engine answers at node1's address: the move fails before it touches anything, and the
    // instance stays where it was, as it was.
    const ended = await until('the move ends', 90_000, async () => {
      const op = await t.db.selectFrom('operations').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow();
      return op.status === 'failed' || op.status === 'succeeded' ? op : undefined;
    });
    expect(ended.status).toBe('failed');
    const row = await t.db.selectFrom('instances').selectAll().where('id', '=', instanceId).executeTakeFirstOrThrow();
    expect([row.host_id, row.status]).toEqual(['node1', 'running']);
  }, 120_000);

  it('drains a node: moves what can move, counting the moves before it, and says why the rest stays', async () => {
    await until('the instance settled', 90_000, async () =>
      (await t.services.operations.holding(instanceId)).length === 0 ? true : undefined,
    );
    const shop = await t.db.selectFrom('instances').selectAll().where('id', '=', instanceId).executeTakeFirstOrThrow();
    // 5 GB: node2 has room for it alone (7.5 GB free), not beside the shop's 2 GB moving there first.
    await t.db
      .insertInto('instances')
      .values({
        ...shop,
        id: undefined as never,
        name: 'big',
        db_name: 'mtmemmove_big',
        container_name: 'mtmemmove-big',
        volume_name: 'mtmemmove-big-data',
        memory_mb: 6144,
        hostname: null,
        created_at: new Date(shop.created_at.getTime() + 1000),
      } as never)
      .execute();
    // As the drain route calls it, once the node is paused (that needs a Swarm manager). The move
    // stays queued (not run) while the node's moves are read.
    const enqueue = vi.spyOn(t.services.runner, 'enqueue').mockResolvedValue();
    const { queued, refused } = await t.services.moves.drain(systemContext('test'), 'node1');
    expect(enqueue).toHaveBeenCalledTimes(1);
    expect(queued.map((q) => [q.instanceId, q.to])).toEqual([[instanceId, 'node2']]);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.label).toBe('erp/big');
    expect(refused[0]?.reason).toMatch(/node2/);

    // The moves going off the node, as the drain answered them: a reloaded Nodes page follows them.
    const listed = await as(t, admin)('GET', '/api/v1/nodes/node1/moves');
    expect(listed.statusCode).toBe(200);
    const active = listed.json<{ moves: { instanceId: string; job: { id: string; kind: string }; to: string }[] }>();
    expect(active.moves.map((m) => [m.instanceId, m.job.id, m.job.kind, m.to])).toEqual([
      [instanceId, queued[0]?.job.id, 'instance.move', 'node2'],
    ]);
    expect((await as(t, admin)('GET', '/api/v1/nodes/node2/moves')).json().moves).toEqual([]);
    expect((await as(t, stranger)('GET', '/api/v1/nodes/node1/moves')).statusCode).toBe(403);
    expect((await as(t, admin)('GET', '/api/v1/nodes/..%2Fetc/moves')).statusCode).toBe(400);
    expect((await as(t, admin)('GET', '/api/v1/nodes/Node_1/moves')).statusCode).toBe(400);
    // Once it ends, it is no longer listed.
    await t.db
      .updateTable('operations')
      .set({ status: 'cancelled' })
      .where('id', '=', queued[0]?.job.id ?? '')
      .execute();
    expect((await as(t, admin)('GET', '/api/v1/nodes/node1/moves')).json().moves).toEqual([]);
    enqueue.mockRestore();
  }, 120_000);

  it("lists a move off the node its job remembered as the source, not the instance's node", async () => {
    await until('the drain settled', 90_000, async () =>
      (await t.services.operations.holding(instanceId)).length === 0 ? true : undefined,
    );
    const ids = async (nodeId: string) =>
      (await as(t, admin)('GET', `/api/v1/nodes/${nodeId}/moves`))
        .json<{ moves: { job: { id: string } }[] }>()
        .moves.map((m) => m.job.id);
    // Queued and never run (nothing enqueues it); as a running move that had left node4 remembers it.
    const op = await t.db.transaction().execute((trx) =>
      t.services.operations.insert(
        trx,
        { kind: 'system', label: 'test' },
        {
          job: planJob(moveJob, { to: 'node2' }),
          organizationId: null,
          hostId: 'node4',
          target: { type: 'instance', id: instanceId, label: 'erp/shop' },
        },
      ),
    );
    try {
      await t.db
        .updateTable('operations')
        .set({ resources: JSON.stringify({ sourceHost: 'node4' }) })
        .where('id', '=', op.id)
        .execute();
      expect(await ids('node4')).toEqual([op.id]);
      expect(await ids('node1')).toEqual([]);
    } finally {
      await t.db.updateTable('operations').set({ status: 'cancelled' }).where('id', '=', op.id).execute();
    }
    expect(await ids('node4')).toEqual([]);
  });
});
