import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminBrowser, as, createTestApp, type TestApp } from '../../test/helpers/app.js';
import { makeOrganization, makeProject } from '../../test/helpers/factories.js';
import type { Host } from '../db/schema.js';
import { operationView } from '../platform/jobs/operations.js';
import type { SwarmEngine } from '../runtime/docker/swarm.js';
import { MarinaClient } from './api/client.js';
import { CliError } from './errors.js';
import { registerNodeCommands } from './nodes.js';

/**
 * `marina nodes drain` against a real Marina (PostgreSQL, the API over HTTP): the nodes are rows of
 * `hosts`, as no Swarm runs here. What leaves this process is stubbed: the manager's engine (its
 * node update is recorded) and the job queue; a move the test "runs" is finished in the database
 * (the instance on its new node) and published as the runner would, so `--wait` follows it over
 * the real event stream.
 */
let t: TestApp;
let client: MarinaClient;
const GIB = 1024 ** 3;
const ids: Record<string, string> = {};
/** The availabilities Swarm was asked for, by Swarm node id. */
const swarm: [string, string][] = [];

beforeAll(async () => {
  t = await createTestApp();
  const admin = await adminBrowser(t);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { secret } = (await as(t, admin)('POST', '/api/v1/tokens', { name: 'cli' })).json<{ secret: string }>();
  client = new MarinaClient({ url: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, token: secret });
  const node = (id: string, role: 'manager' | 'worker') => ({
    id,
    name: id,
    docker_host: `tcp://10.0.0.${id.length}:2376`,
    role,
    address: '10.0.0.1',
    node_state: 'ready' as const,
    availability: 'active' as const,
    cpus: 4,
    memory_bytes: 16 * GIB,
    state: 'reachable' as const,
    swarm_node_id: `swarm-${id}`,
  });
  await t.db
    .insertInto('hosts')
    .values([node('node-a', 'manager'), node('node-c', 'worker'), node('node-e', 'worker')])
    .execute();
  const organization = await makeOrganization(as(t, admin), { slug: 'acme' });
  const project = await makeProject(as(t, admin), { organization: 'acme' });
  for (const [name, host] of [
    ['shop', 'node-c'],
    ['lab', 'node-c'],
    ['web', 'node-e'],
  ] as const) {
    const { id } = await t.db
      .insertInto('instances')
      .values({
        organization_id: organization.id,
        project_id: project.id,
        name,
        stage: 'staging',
        odoo_version: '17.0',
        host_id: host,
        db_name: `mtdraincli_${name}`,
        db_password: 'unused',
        master_password: 'unused',
        admin_login: 'admin@acme.test',
        admin_password: 'unused',
        language: 'en_US',
        cpus: 1,
        memory_mb: 2048,
        container_name: `mtdraincli-${name}`,
        volume_name: `mtdraincli-${name}-data`,
        status: 'running',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids[name] = id;
  }
}, 120_000);

/** A manager that answers, whose engine records what Swarm is asked. */
function stubManager() {
  const engine = {
    updateNode: async (id: string, spec: { availability: string }) => void swarm.push([id, spec.availability]),
  } as unknown as SwarmEngine;
  vi.spyOn(t.services.nodes, 'manager').mockResolvedValue({ host: {} as Host, engine });
}

/** Each move queued ends as `outcome`: a success leaves the instance on its new node. */
function runMoves(outcome: (instanceId: string) => 'succeeded' | 'failed') {
  vi.spyOn(t.services.runner, 'enqueue').mockImplementation(async (op) => {
    const instanceId = op.target_id ?? '';
    const to = (op.input as { to: string }).to;
    const ok = outcome(instanceId) === 'succeeded';
    if (ok) await t.db.updateTable('instances').set({ host_id: to }).where('id', '=', instanceId).execute();
    const row = await t.db
      .updateTable('operations')
      .set({
        status: ok ? 'succeeded' : 'failed',
        progress: ok ? 100 : 30,
        started_at: new Date(),
        finished_at: new Date(),
        result: ok ? JSON.stringify({ instanceId, from: op.host_id, to, downtimeMs: 3100 }) : null,
        error: ok
          ? null
          : JSON.stringify({ code: 'MARINA_E_INTERNAL', message: `${to} does not answer`, step: 'prepare' }),
      })
      .where('id', '=', op.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    t.services.operations.bus.publish(operationView(row));
  });
}

afterEach(() => vi.restoreAllMocks());

afterAll(async () => {
  await t?.close();
});

/** Runs `marina nodes …`: what it printed on standard output, and what it threw. */
async function marina(...args: string[]): Promise<{ out: string; error?: Error }> {
  const program = new Command('marina').exitOverride().configureOutput({ writeErr: () => {} });
  registerNodeCommands(program, async () => client);
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void out.push(parts.join(' ')));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const bar = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  let error: Error | undefined;
  try {
    await program.parseAsync(['node', 'marina', 'nodes', ...args]);
  } catch (thrown) {
    error = thrown as Error;
  } finally {
    log.mockRestore();
    write.mockRestore();
    bar.mockRestore();
  }
  return { out: out.join('\n'), error };
}

const availability = async (id: string) =>
  (await t.db.selectFrom('hosts').select('availability').where('id', '=', id).executeTakeFirstOrThrow()).availability;

describe('marina nodes drain', () => {
  it('has --wait and --json, and says the instances move', () => {
    const program = new Command();
    registerNodeCommands(program, () => Promise.reject(new Error('no server in this test')));
    const drain = program.commands.find((c) => c.name() === 'nodes')?.commands.find((c) => c.name() === 'drain');
    expect(drain?.options.map((o) => o.long)).toEqual(['--wait', '--json']);
    expect(drain?.description()).toMatch(/its instances move to other nodes, one job each/);
  });

  it('prints the moves it queued (instance, target node, job); the node is paused in Swarm until it is empty', async () => {
    stubManager();
    const enqueue = vi.spyOn(t.services.runner, 'enqueue').mockResolvedValue();
    const { out, error } = await marina('drain', 'node-c');
    expect(error).toBeUndefined();
    const lines = out.split('\n');
    expect(lines[0]).toBe(
      'node-c takes no new instances; 2 instances move to other nodes, one job each, each down for a short while:',
    );
    expect(lines[1]).toMatch(/^INSTANCE\s+TO\s+JOB$/);
    const jobs = await t.db
      .selectFrom('operations')
      .select(['id', 'target_id', 'input'])
      .where('kind', '=', 'instance.move')
      .orderBy('created_at')
      .execute();
    expect(jobs.map((j) => j.target_id)).toEqual([ids.shop, ids.lab]);
    for (const [i, job] of jobs.entries()) {
      const to = (job.input as { to: string }).to;
      expect(['node-a', 'node-e']).toContain(to);
      expect(lines[i + 2]).toMatch(new RegExp(`^[\\w/]+/${i === 0 ? 'shop' : 'lab'}\\s+${to}\\s+${job.id}$`));
    }
    expect(lines).toHaveLength(4);
    expect(enqueue).toHaveBeenCalledTimes(2);
    expect(swarm).toEqual([['swarm-node-c', 'pause']]);
    expect(await availability('node-c')).toBe('pause');
    // Finished as the runner would not here: the next test drains again.
    await t.db.updateTable('operations').set({ status: 'cancelled', finished_at: new Date() }).execute();
  });

  it('--wait follows the moves, prints each downtime, and says the node is empty; again, it is drained in Swarm', async () => {
    stubManager();
    runMoves(() => 'succeeded');
    const { out, error } = await marina('drain', 'node-c', '--wait');
    expect(error).toBeUndefined();
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^node-c takes no new instances; 2 instances move to other nodes/);
    expect(lines.slice(-3)).toEqual([
      expect.stringMatching(/\/shop: moved from node-c to node-[ae], down for 3\.1 s\.$/),
      expect.stringMatching(/\/lab: moved from node-c to node-[ae], down for 3\.1 s\.$/),
      'node-c is empty: run `marina nodes drain node-c` again to drain it in Swarm too.',
    ]);

    const again = await marina('drain', 'node-c');
    expect(again.error).toBeUndefined();
    expect(again.out).toBe('node-c is drained: it takes no new instances.');
    expect(swarm.slice(-1)).toEqual([['swarm-node-c', 'drain']]);
    expect(await availability('node-c')).toBe('drain');
  });

  it('--wait fails for scripts when a move failed, and says what is left on the node', async () => {
    stubManager();
    runMoves(() => 'failed');
    // web, and what placement put there of node-c's.
    const on = await t.db.selectFrom('instances').select('id').where('host_id', '=', 'node-e').execute();
    const n = on.length;
    const { out, error } = await marina('drain', 'node-e', '--wait');
    expect(error).toBeInstanceOf(CliError);
    const count = n === 1 ? '1 instance' : `${n} instances`;
    expect(error?.message).toBe(`${n} of ${count} did not move.`);
    expect(out.split('\n').at(-1)).toBe(
      `${count} ${n === 1 ? 'is' : 'are'} still on node-e: run \`marina nodes drain node-e\` again to move ${n === 1 ? 'it' : 'them'}.`,
    );
    const json = JSON.parse((await marina('drain', 'node-e', '--json')).out) as { moves: unknown[] };
    expect(json.moves).toHaveLength(n);
  });
});
