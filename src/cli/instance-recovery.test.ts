import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, memberBrowser, type TestApp } from '../../test/helpers/app.js';
import { makeOrganization, makeProject } from '../../test/helpers/factories.js';
import { SwarmRuntime } from '../runtime/swarm/runtime.js';
import { ApiError, MarinaClient } from './api/client.js';
import { CliError, CliUsageError } from './errors.js';
import { type RecoveryPreview, recoveryLines } from './instance-recovery.js';
import { registerInstanceCommands } from './instances.js';
import { wallClock } from './time.js';

/**
 * `marina instances recovery` and `recover` against a real Marina (PostgreSQL, the API over HTTP).
 * No Swarm runs here: the nodes are rows of `hosts`, node9 lost since LOST_AT and node1 ready; the
 * instances and their backups are rows too. The recovery that is accepted has its two reaches out
 * of this process stubbed: the removal of the service through a manager, and the job queue.
 */
let t: TestApp;
let admin: Browser;
let client: MarinaClient;
let orgAdminClient: MarinaClient;
let url: string;
/** How many times a command asked for its client: 0 means it asked Marina nothing. */
let clients = 0;

const GIB = 1024 ** 3;
const SIZE = Math.round(1.2 * GIB);
const LOST_AT = new Date('2026-12-05T22:15:00Z');
const BACKUP_AT = new Date('2026-12-05T19:00:00Z');
/** The instances, by name: each on its node, with or without a backup. */
const ids: Record<string, string> = {};
const backups: Record<string, string> = {};

async function instance(
  name: string,
  fields: { hostId: string; stage: 'production' | 'staging'; status: 'unavailable' | 'running'; backup?: Date },
  organizationId: string,
  projectId: string,
): Promise<void> {
  const { id } = await t.db
    .insertInto('instances')
    .values({
      organization_id: organizationId,
      project_id: projectId,
      name,
      stage: fields.stage,
      odoo_version: '17.0',
      host_id: fields.hostId,
      db_name: `mtrecovercli_${name}`,
      db_password: 'unused',
      master_password: 'unused',
      admin_login: 'admin@acme.test',
      admin_password: 'unused',
      language: 'en_US',
      cpus: 1,
      memory_mb: 1024,
      container_name: `mtrecovercli-${name}`,
      volume_name: `mtrecovercli-${name}-data`,
      status: fields.status,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  ids[name] = id;
  if (!fields.backup) return;
  const backup = await t.db
    .insertInto('backups')
    .values({
      organization_id: organizationId,
      instance_id: id,
      instance_label: `erp/${name}`,
      odoo_version: '17.0',
      kind: 'full',
      format: 'native',
      trigger: 'schedule',
      status: 'completed',
      file_name: `${id}/b.tar.zst`,
      sha256: 'a'.repeat(64),
      size_bytes: SIZE,
      error: null,
      operation_id: null,
      created_by: 'test',
      created_at: fields.backup,
      completed_at: fields.backup,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  backups[name] = backup.id;
}

async function token(who: Browser): Promise<MarinaClient> {
  const { secret } = (await as(t, who)('POST', '/api/v1/tokens', { name: 'cli' })).json<{ secret: string }>();
  return new MarinaClient({ url, token: secret });
}

beforeAll(async () => {
  t = await createTestApp();
  admin = await adminBrowser(t);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  client = await token(admin);
  await t.db
    .insertInto('hosts')
    .values([
      {
        id: 'node1',
        name: 'node1',
        docker_host: 'tcp://192.0.2.1:2376',
        role: 'manager',
        address: '192.0.2.1',
        node_state: 'ready',
        availability: 'active',
        cpus: 8,
        memory_bytes: 16 * GIB,
        state: 'reachable',
      },
      {
        id: 'node9',
        name: 'node9',
        docker_host: 'tcp://192.0.2.9:2376',
        role: 'worker',
        address: '192.0.2.9',
        node_state: 'down',
        node_state_since: LOST_AT,
        availability: 'active',
        cpus: 4,
        memory_bytes: 8 * GIB,
        state: 'unreachable',
      },
    ])
    .execute();
  const organization = await makeOrganization(as(t, admin), { slug: 'acme' });
  const project = await makeProject(as(t, admin), { organization: 'acme' });
  const on = (name: string, fields: Parameters<typeof instance>[1]) =>
    instance(name, fields, organization.id, project.id);
  await on('shop', { hostId: 'node9', stage: 'production', status: 'unavailable', backup: BACKUP_AT });
  await on('lab', { hostId: 'node9', stage: 'staging', status: 'unavailable' });
  await on('web', { hostId: 'node1', stage: 'staging', status: 'running', backup: BACKUP_AT });
  await on('test', { hostId: 'node9', stage: 'staging', status: 'unavailable', backup: BACKUP_AT });
  orgAdminClient = await token(await memberBrowser(t, admin, 'acme', 'admin@acme.test', 'admin'));
}, 120_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await t?.close();
});

/** Runs `marina instances …` as `who`: what it printed, and what it threw. */
async function marina(...args: string[]): Promise<{ out: string; error?: Error }> {
  return marinaAs(client, ...args);
}

async function marinaAs(who: MarinaClient, ...args: string[]): Promise<{ out: string; error?: Error }> {
  const program = new Command('marina').exitOverride().configureOutput({ writeErr: () => {} });
  registerInstanceCommands(program, async () => {
    clients++;
    return who;
  });
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void out.push(parts.join(' ')));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  let error: Error | undefined;
  try {
    await program.parseAsync(['node', 'marina', 'instances', ...args]);
  } catch (thrown) {
    error = thrown as Error;
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  return { out: out.join('\n'), error };
}

describe('the commands', () => {
  it('are instance commands: recovery with --json; recover with --backup, --confirm, --no-wait and --json', () => {
    const program = new Command();
    registerInstanceCommands(program, () => Promise.reject(new Error('no server in this test')));
    const instances = program.commands.find((c) => c.name() === 'instances');
    const recovery = instances?.commands.find((c) => c.name() === 'recovery');
    const recover = instances?.commands.find((c) => c.name() === 'recover');
    expect(recovery?.registeredArguments.map((a) => a.name())).toEqual(['instance']);
    expect(recovery?.options.map((o) => o.long)).toEqual(['--json']);
    expect(recover?.registeredArguments.map((a) => a.name())).toEqual(['instance']);
    expect(recover?.options.map((o) => o.long)).toEqual(['--backup', '--confirm', '--no-wait', '--json']);
    expect(recover?.description()).toMatch(/lost cluster node on another node .* \(platform admins; production/);
  });

  it('print the node, the backup, what is lost and the command, or why it cannot be recovered', () => {
    const preview: RecoveryPreview = {
      instanceId: '0f3e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
      node: { id: 'node9', state: 'down', since: new Date(Date.now() - 3 * 3600_000).toISOString() },
      possible: true,
      reason: null,
      backup: { id: '6c1f0d9e-2a3b-4c5d-8e7f-9a0b1c2d3e4f', takenAt: '2026-12-05T19:00:00.000Z', sizeBytes: SIZE },
      dataLossSeconds: 3 * 3600 + 15 * 60,
    };
    const lines = recoveryLines(preview, {
      instance: { name: 'shop', stage: 'production' },
      ref: 'acme/erp/shop',
      timeZone: 'UTC',
    });
    expect(lines).toEqual([
      'shop can be recovered on another node from its latest backup.',
      expect.stringMatching(/^ {2}Node: {7}node9, down since \d{4}-\d\d-\d\d \d\d:\d\d \(3h ago\)$/),
      '  Backup:     2026-12-05 19:00, 1.2 GB — 6c1f0d9e-2a3b-4c5d-8e7f-9a0b1c2d3e4f',
      '  Lost:       the changes made after that backup (3h 15m of them)',
      '  Recover:    marina instances recover acme/erp/shop --confirm shop',
    ]);
    const staging = recoveryLines(preview, { instance: { name: 'lab', stage: 'staging' }, ref: 'x', timeZone: 'UTC' });
    expect(staging.at(-1)).toBe('  Recover:    marina instances recover x');

    const refused = recoveryLines(
      {
        ...preview,
        possible: false,
        reason: 'The instance has no completed backup.',
        backup: null,
        dataLossSeconds: null,
      },
      { instance: { name: 'lab', stage: 'staging' }, ref: 'x' },
    );
    expect(refused).toEqual([
      'lab cannot be recovered on another node: The instance has no completed backup.',
      expect.stringMatching(/^ {2}Node: {7}node9, down since /),
      '  Backup:     none completed',
    ]);
  });
});

describe('marina instances recovery', () => {
  it('says from which backup an instance of a lost node would be recovered, and what would be lost', async () => {
    const { out, error } = await marina('recovery', 'acme/erp/shop');
    expect(error).toBeUndefined();
    expect(out.split('\n')).toEqual([
      'shop can be recovered on another node from its latest backup.',
      expect.stringMatching(
        new RegExp(`^ {2}Node: {7}node9, down since ${wallClock(LOST_AT.toISOString())} \\(\\d+[smhd] ago\\)$`),
      ),
      `  Backup:     ${wallClock(BACKUP_AT.toISOString())}, 1.2 GB — ${backups.shop}`,
      // From the backup to when the node was lost.
      '  Lost:       the changes made after that backup (3h 15m of them)',
      '  Recover:    marina instances recover acme/erp/shop --confirm shop',
    ]);

    const json = JSON.parse((await marina('recovery', ids.shop ?? '', '--json')).out) as RecoveryPreview;
    expect(json).toEqual({
      instanceId: ids.shop,
      node: { id: 'node9', state: 'down', since: LOST_AT.toISOString() },
      possible: true,
      reason: null,
      backup: { id: backups.shop, takenAt: BACKUP_AT.toISOString(), sizeBytes: SIZE },
      dataLossSeconds: 3 * 3600 + 15 * 60,
    });
  });

  it('says why not, and fails for scripts: no backup, a node that is not lost', async () => {
    const lab = await marina('recovery', 'acme/erp/lab');
    expect(lab.error).toBeInstanceOf(CliError);
    expect(lab.error?.message).toBe('It cannot be recovered on another node now.');
    expect(lab.out.split('\n')[0]).toBe(
      'lab cannot be recovered on another node: The instance has no completed backup.',
    );
    expect(lab.out).toContain('  Backup:     none completed');

    const web = await marina('recovery', 'acme/erp/web');
    expect(web.error).toBeInstanceOf(CliError);
    expect(web.out.split('\n')[0]).toBe(
      'web cannot be recovered on another node: Its node node1 is ready, not lost: nothing to recover.',
    );
    expect(web.out).not.toContain('Recover:');
  });

  it('is for platform admins: Marina refuses an organization admin', async () => {
    const { out, error } = await marinaAs(orgAdminClient, 'recovery', 'acme/erp/shop');
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(403);
    expect(out).toBe('');
  });
});

describe('marina instances recover', () => {
  it('refuses a backup that is not an id before asking Marina anything', async () => {
    clients = 0;
    const { error } = await marina('recover', 'acme/erp/shop', '--backup', 'latest');
    expect(error).toBeInstanceOf(CliUsageError);
    expect(error?.message).toBe('--backup: "latest" is not a backup id (see `marina backups ls <instance>`).');
    expect(clients).toBe(0);
  });

  it('wants a production instance’s name, and refuses an instance whose node is not lost', async () => {
    for (const confirm of [[], ['--confirm', 'shop2']]) {
      const { out, error } = await marina('recover', 'acme/erp/shop', ...confirm);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe('MARINA_E_CONFIRMATION_REQUIRED');
      expect(out).toBe('');
    }
    const web = await marina('recover', 'acme/erp/web');
    expect((web.error as ApiError).code).toBe('MARINA_E_CONFLICT');
    expect(web.error?.message).toBe('Its node node1 is ready, not lost: nothing to recover.');
    const row = await t.db
      .selectFrom('instances')
      .select(['host_id', 'status'])
      .where('id', '=', ids.shop ?? '')
      .executeTakeFirst();
    expect(row).toEqual({ host_id: 'node9', status: 'unavailable' });
  });

  it('submits the recovery from the given backup and says on which node; --no-wait leaves the job to follow', async () => {
    // What leaves this process: the service's removal through a manager, and the job's queue.
    const forget = vi.spyOn(SwarmRuntime.prototype, 'forget').mockResolvedValue();
    const enqueue = vi.spyOn(t.services.runner, 'enqueue').mockResolvedValue();
    try {
      const { out, error } = await marina('recover', 'acme/erp/test', '--backup', backups.test ?? '', '--no-wait');
      expect(error).toBeUndefined();
      const [said, queued] = out.split('\n');
      const jobId = /— job ([0-9a-f-]{36})$/.exec(said ?? '')?.[1];
      expect(said).toBe(`Recovering test on node node1 — job ${jobId}`);
      expect(queued).toBe(`Job ${jobId} queued; follow it with \`marina jobs watch ${jobId}\`.`);
      expect(forget).toHaveBeenCalledWith('mtrecovercli-test');
      expect(enqueue).toHaveBeenCalledTimes(1);
      const row = await t.db
        .selectFrom('instances')
        .select(['host_id', 'status'])
        .where('id', '=', ids.test ?? '')
        .executeTakeFirst();
      expect(row).toEqual({ host_id: 'node1', status: 'provisioning' });
      const job = await t.db
        .selectFrom('operations')
        .select(['kind', 'status', 'host_id'])
        .where('id', '=', jobId ?? '')
        .executeTakeFirst();
      expect(job).toEqual({ kind: 'backup.restore', status: 'queued', host_id: 'node1' });
    } finally {
      forget.mockRestore();
      enqueue.mockRestore();
    }
  });
});
