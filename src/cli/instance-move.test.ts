import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminBrowser, as, createTestApp, type TestApp } from '../../test/helpers/app.js';
import { makeOrganization, makeProject } from '../../test/helpers/factories.js';
import { operationView } from '../platform/jobs/operations.js';
import { type ApiError, MarinaClient } from './api/client.js';
import { CliUsageError } from './errors.js';
import { downtime, moveResult } from './instance-move.js';
import { registerInstanceCommands } from './instances.js';

/**
 * `marina instances move` against a real Marina (PostgreSQL, the API over HTTP). No Swarm runs
 * here: the nodes are rows of `hosts` (node1 and node2 ready, node9 down), the instances rows too.
 * What leaves this process is stubbed: the job queue. A job the test "runs" is finished in the
 * database and published as the runner would, so the command follows it over the real event stream.
 */
let t: TestApp;
let client: MarinaClient;
/** How many times a command asked for its client: 0 means it asked Marina nothing. */
let clients = 0;

const GIB = 1024 ** 3;
const ids: Record<string, string> = {};

async function instance(
  name: string,
  stage: 'production' | 'staging',
  status: 'running' | 'stopped' | 'provisioning',
  org: { organizationId: string; projectId: string },
): Promise<void> {
  const { id } = await t.db
    .insertInto('instances')
    .values({
      organization_id: org.organizationId,
      project_id: org.projectId,
      name,
      stage,
      odoo_version: '17.0',
      host_id: 'node1',
      db_name: `mtmovecli_${name}`,
      db_password: 'unused',
      master_password: 'unused',
      admin_login: 'admin@acme.test',
      admin_password: 'unused',
      language: 'en_US',
      cpus: 1,
      memory_mb: 1024,
      container_name: `mtmovecli-${name}`,
      volume_name: `mtmovecli-${name}-data`,
      status,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  ids[name] = id;
}

/** Ends a queued job as the runner would: its row, then the event its streams wait for. */
async function endJob(id: string, outcome: 'succeeded' | 'failed', result: Record<string, unknown> | null) {
  const row = await t.db
    .updateTable('operations')
    .set({
      status: outcome,
      progress: outcome === 'succeeded' ? 100 : 40,
      step: outcome === 'succeeded' ? 'cleanup' : 'sync',
      started_at: new Date(),
      finished_at: new Date(),
      result: result === null ? null : JSON.stringify(result),
      error:
        outcome === 'failed'
          ? JSON.stringify({ code: 'MARINA_E_INTERNAL', message: 'pg_restore: disk full on node2', step: 'sync' })
          : null,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  t.services.operations.bus.publish(operationView(row));
}

beforeAll(async () => {
  t = await createTestApp();
  const admin = await adminBrowser(t);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { secret } = (await as(t, admin)('POST', '/api/v1/tokens', { name: 'cli' })).json<{ secret: string }>();
  client = new MarinaClient({ url: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, token: secret });
  const node = (id: string, role: 'manager' | 'worker', state: 'ready' | 'down') => ({
    id,
    name: id,
    docker_host: `tcp://192.0.2.${id.slice(4)}:2376`,
    role,
    address: `192.0.2.${id.slice(4)}`,
    node_state: state,
    availability: 'active' as const,
    cpus: 4,
    memory_bytes: 8 * GIB,
    state: state === 'ready' ? ('reachable' as const) : ('unreachable' as const),
  });
  await t.db
    .insertInto('hosts')
    .values([node('node1', 'manager', 'ready'), node('node2', 'worker', 'ready'), node('node9', 'worker', 'down')])
    .execute();
  const organization = await makeOrganization(as(t, admin), { slug: 'acme' });
  const project = await makeProject(as(t, admin), { organization: 'acme' });
  const org = { organizationId: organization.id, projectId: project.id };
  await instance('shop', 'production', 'running', org);
  await instance('lab', 'staging', 'stopped', org);
  await instance('web', 'staging', 'running', org);
  await instance('api', 'staging', 'running', org);
  await instance('new', 'staging', 'provisioning', org);
}, 120_000);

afterEach(() => vi.restoreAllMocks());

afterAll(async () => {
  await t?.close();
});

/** Runs `marina instances …`: what it printed on standard output, and what it threw. */
async function marina(...args: string[]): Promise<{ out: string; error?: Error }> {
  const program = new Command('marina').exitOverride().configureOutput({ writeErr: () => {} });
  registerInstanceCommands(program, async () => {
    clients++;
    return client;
  });
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void out.push(parts.join(' ')));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  // The progress bar goes to standard error: kept out of the test's output.
  const bar = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  let error: Error | undefined;
  try {
    await program.parseAsync(['node', 'marina', 'instances', ...args]);
  } catch (thrown) {
    error = thrown as Error;
  } finally {
    log.mockRestore();
    write.mockRestore();
    bar.mockRestore();
  }
  return { out: out.join('\n'), error };
}

const jobOf = (line: string | undefined) => /— job ([0-9a-f-]{36})$/.exec(line ?? '')?.[1] ?? '';

describe('the command', () => {
  it('is an instance command with --to, --confirm, --no-wait and --json', () => {
    const program = new Command();
    registerInstanceCommands(program, () => Promise.reject(new Error('no server in this test')));
    const move = program.commands.find((c) => c.name() === 'instances')?.commands.find((c) => c.name() === 'move');
    expect(move?.registeredArguments.map((a) => a.name())).toEqual(['instance']);
    expect(move?.options.map((o) => o.long)).toEqual(['--to', '--confirm', '--no-wait', '--json']);
    expect(move?.description()).toMatch(/another cluster node: .* \(platform admins; production: --confirm NAME\)$/);
  });

  it('says the downtime in seconds, or minutes and seconds', () => {
    expect([850, 4200, 12_400, 60_000, 72_300].map(downtime)).toEqual([
      '0.8 s',
      '4.2 s',
      '12 s',
      '1 min',
      '1 min 12 s',
    ]);
    expect(moveResult({ result: { from: 'node1', to: 'node2', downtimeMs: 4200 } })).toBe(
      'moved from node1 to node2, down for 4.2 s',
    );
    expect(moveResult({ result: null })).toBe('moved');
  });
});

describe('marina instances move', () => {
  it('refuses a node that is no node id before asking Marina anything', async () => {
    clients = 0;
    const { error } = await marina('move', 'acme/erp/lab', '--to', 'Node 2');
    expect(error).toBeInstanceOf(CliUsageError);
    expect(error?.message).toBe('--to: "Node 2" is not a node (see `marina nodes ls`).');
    expect(clients).toBe(0);
  });

  it('wants a production instance’s name; refuses its own node, a node that cannot take it, a busy instance', async () => {
    for (const confirm of [[], ['--confirm', 'shop2']]) {
      const { out, error } = await marina('move', 'acme/erp/shop', ...confirm);
      expect((error as ApiError).code).toBe('MARINA_E_CONFIRMATION_REQUIRED');
      expect(out).toBe('');
    }
    const own = await marina('move', 'acme/erp/lab', '--to', 'node1');
    expect((own.error as ApiError).code).toBe('MARINA_E_CONFLICT');
    expect(own.error?.message).toBe('The instance is on node1 already.');
    const down = await marina('move', 'acme/erp/lab', '--to', 'node9');
    expect((down.error as ApiError).code).toBe('MARINA_E_NO_PLACEMENT');
    expect(down.error?.message).toMatch(/node9/);
    const busy = await marina('move', 'acme/erp/new');
    expect((busy.error as ApiError).code).toBe('MARINA_E_INSTANCE_BUSY');
    expect(busy.error?.message).toBe('The instance is provisioning: only a settled instance moves.');
    const queued = await t.db.selectFrom('operations').select('id').where('kind', '=', 'instance.move').execute();
    expect(queued).toEqual([]);
  });

  it('queues the move where placement puts it and, with --no-wait, says how to follow it', async () => {
    const enqueue = vi.spyOn(t.services.runner, 'enqueue').mockResolvedValue();
    const { out, error } = await marina('move', 'acme/erp/shop', '--confirm', 'shop', '--no-wait');
    expect(error).toBeUndefined();
    const [said, queued] = out.split('\n');
    const jobId = jobOf(said);
    expect(said).toBe(`Moving shop from node1 to node2 — job ${jobId}`);
    expect(queued).toBe(`Job ${jobId} queued; follow it with \`marina jobs watch ${jobId}\`.`);
    expect(enqueue).toHaveBeenCalledTimes(1);
    const job = await t.db
      .selectFrom('operations')
      .select(['kind', 'status', 'host_id', 'input'])
      .where('id', '=', jobId)
      .executeTakeFirst();
    expect(job).toEqual({ kind: 'instance.move', status: 'queued', host_id: 'node1', input: { to: 'node2' } });
  });

  it('follows the job to its end and prints how long the instance was down', async () => {
    vi.spyOn(t.services.runner, 'enqueue').mockImplementation(async (op) => {
      await endJob(op.id, 'succeeded', { instanceId: ids.lab, from: 'node1', to: 'node2', downtimeMs: 4200 });
    });
    const { out, error } = await marina('move', 'acme/erp/lab', '--to', 'node2');
    expect(error).toBeUndefined();
    const lines = out.split('\n');
    expect(lines).toEqual([
      `Moving lab from node1 to node2 — job ${jobOf(lines[0])}`,
      'lab moved from node1 to node2, down for 4.2 s.',
    ]);

    const json = await marina('move', 'acme/erp/web', '--json');
    expect(json.error).toBeUndefined();
    expect(JSON.parse(json.out)).toMatchObject({
      kind: 'instance.move',
      status: 'succeeded',
      result: { downtimeMs: 4200 },
    });
  });

  it('fails with the step and the message of a move that failed', async () => {
    vi.spyOn(t.services.runner, 'enqueue').mockImplementation(async (op) => {
      await endJob(op.id, 'failed', null);
    });
    const { out, error } = await marina('move', 'acme/erp/api');
    expect(out.split('\n')).toHaveLength(1);
    expect(error?.message).toBe('The move failed at step "sync": pg_restore: disk full on node2');
  });
});
