import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeNamespace, requireDocker, testNamespace } from './helpers/docker.js';
import { cliMarinaEnv, marina, requireBuild, type Server, setUpAcmeWithCli, startServer } from './helpers/process.js';

/**
 * SIGKILL in the middle of a backup and of restores, with the real `marina` process, Docker,
 * PostgreSQL and the Odoo stand-in: nothing half-written passes for good, and the instance is
 * either restored or back as it was.
 */
const namespace = testNamespace();
let dir: string;
let env: NodeJS.ProcessEnv;
let url: string;
let instance: { id: string; dbName: string };
const running: Server[] = [];
const PASSWORD = 'correct horse battery staple';

function serve(): Server {
  const server = startServer(env);
  running.push(server);
  return server;
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const { token } = JSON.parse(await readFile(join(dir, 'config', 'marina', 'credentials.json'), 'utf8'));
  const response = await fetch(`${url}/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  return (await response.json()) as T;
}

/** SQL on the instance's database, run inside the managed PostgreSQL container. */
async function psql(sql: string): Promise<string> {
  const container = docker.getContainer(`${namespace}-postgres-local`);
  const exec = await container.exec({
    // As the tenant's own role, as the tenant would: backups read the database as that role.
    Cmd: ['psql', '-U', 'postgres', '-d', instance.dbName, '-qAt', '-c', `set role "${instance.dbName}"`, '-c', sql],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    docker.modem.demuxStream(stream, { write: (c: Buffer) => chunks.push(c) } as never, process.stderr);
    stream.on('end', () => resolve());
  });
  return Buffer.concat(chunks).toString().trim();
}

/** Kills Marina once the job reaches one of the steps (and, if given, once `also` holds). */
async function killDuring(jobId: string, steps: string[], also: () => boolean = () => true): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { job } = await api<{ job: { status: string; step: string | null } }>(`/jobs/${jobId}`);
    if (job.status === 'running' && job.step && steps.includes(job.step) && also()) {
      (running.at(-1) as Server).child.kill('SIGKILL');
      await (running.at(-1) as Server).exited;
      return job.step;
    }
    if (job.status === 'succeeded' || job.status === 'failed')
      throw new Error(`the job ended (${job.status}) before it could be interrupted`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('the job never reached the step');
}

async function restart(): Promise<void> {
  const server = serve();
  await server.waitFor('Marina is listening', 60_000);
}

/** Nothing Marina does not know about: no orphan, no database beside the instance's but its undo's. */
async function nothingUnknown(undo: 'none' | 'kept' = 'none'): Promise<void> {
  const report = await api<{ orphans: unknown[]; missing: unknown[] }>('/reconcile');
  expect(report.orphans, JSON.stringify(report)).toEqual([]);
  const dbs = await psql(`select datname from pg_database where datname like '${instance.dbName}_%'`);
  expect(dbs).toBe(undo === 'kept' ? `${instance.dbName}_undo` : '');
  const kept = (await api<{ instance: { undo: unknown } }>(`/instances/${instance.id}`)).instance.undo;
  expect(kept === null).toBe(undo === 'none');
  const files = await readdir(join(dir, 'data', 'backups', instance.id));
  expect(files.filter((f) => !/^[0-9a-f-]{36}\.(zip|tar\.zst)$/.test(f))).toEqual([]);
}

beforeAll(async () => {
  requireBuild();
  await requireDocker();
  ({ dir, url, env } = await cliMarinaEnv(namespace, 'marina-crash-backups-'));
  const server = serve();
  await server.waitFor('Marina is listening');
  await setUpAcmeWithCli(env, url, PASSWORD);
  const created = await marina(
    [
      'instances',
      'create',
      'main',
      '--project',
      'acme/erp',
      '--admin-login',
      'a@acme.test',
      '--memory',
      '768',
      '--json',
    ],
    env,
  );
  expect(created.code, created.stderr).toBe(0);
  instance = (await api<{ instances: { id: string; dbName: string }[] }>('/instances')).instances[0] as typeof instance;
  // Enough data that a backup and a restore take a few seconds: time to be killed in the middle.
  await psql(
    'create table marina_bulk as select i, md5(i::text) || md5(random()::text) || md5(random()::text) as pad from generate_series(1, 1500000) i',
  );
}, 180_000);

afterAll(async () => {
  for (const server of running) {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }
  await removeNamespace(namespace);
  await rm(dir, { recursive: true, force: true });
});

describe('a Marina killed during backups and restores', () => {
  it('mid-backup: the backup is failed, its partial file and scratch are gone, nothing is listed as completed', {
    timeout: 180_000,
  }, async () => {
    const started = JSON.parse(
      (await marina(['backups', 'create', 'acme/erp/main', '--format', 'native', '--no-wait', '--json'], env)).stdout,
    ) as { id: string };
    const folder = join(dir, 'data', 'backups', instance.id);
    const step = await killDuring(started.id, ['write'], () => existsSync(folder) && hasPartial(folder));
    expect(step).toBe('write');
    await restart();
    const { job } = await api<{ job: { status: string; error: { code: string; step: string } } }>(
      `/jobs/${started.id}`,
    );
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('MARINA_E_INTERRUPTED');
    const listed = JSON.parse((await marina(['backups', 'ls', 'acme/erp/main', '--json'], env)).stdout) as {
      status: string;
    }[];
    expect(listed.map((b) => b.status)).toEqual(['failed']);
    await nothingUnknown();
  });

  it('mid-restore, before the swap: the instance is back as it was and running; after the swap: restored', {
    timeout: 300_000,
  }, async () => {
    const made = await marina(['backups', 'create', 'acme/erp/main', '--format', 'native', '--json'], env);
    expect(made.code, made.stderr).toBe(0);
    const good = JSON.parse((await marina(['backups', 'ls', 'acme/erp/main', '--json'], env)).stdout).find(
      (b: { status: string }) => b.status === 'completed',
    ) as { id: string; sha256: string };
    const file = await readFile(join(dir, 'data', 'backups', instance.id, `${good.id}.tar.zst`));
    expect(createHash('sha256').update(file).digest('hex')).toBe(good.sha256);
    await psql("insert into ir_config_parameter (key, value) values ('marina.test.marker', 'changed after backup')");

    const first = JSON.parse((await marina(['backups', 'restore', good.id, '--no-wait', '--json'], env)).stdout) as {
      id: string;
    };
    expect(await killDuring(first.id, ['load'])).toBe('load');
    await restart();
    const failed = await api<{ job: { status: string; error: { code: string; message: string } } }>(
      `/jobs/${first.id}`,
    );
    expect(failed.job.status).toBe('failed');
    expect(failed.job.error.code).toBe('MARINA_E_INTERRUPTED');
    const back = await api<{ instance: { status: string } }>(`/instances/${instance.id}`);
    expect(back.instance.status).toBe('running');
    expect(await psql("select value from ir_config_parameter where key = 'marina.test.marker'")).toBe(
      'changed after backup',
    );
    await nothingUnknown();

    const second = JSON.parse((await marina(['backups', 'restore', good.id, '--no-wait', '--json'], env)).stdout) as {
      id: string;
    };
    expect(['start', 'health']).toContain(await killDuring(second.id, ['start', 'health']));
    await restart();
    expect((await api<{ job: { status: string } }>(`/jobs/${second.id}`)).job.status).toBe('failed');
    // Past the swap the restore is finished by the recovery: the change is gone, the instance runs.
    expect(await psql("select count(*) from ir_config_parameter where key = 'marina.test.marker'")).toBe('0');
    const restored = await api<{ instance: { status: string } }>(`/instances/${instance.id}`);
    expect(restored.instance.status).toBe('running');
    // What the recovered swap replaced is kept as the restore's undo, known to Marina.
    await nothingUnknown('kept');
    const health = await fetch(
      `${(await api<{ instance: { url: string } }>(`/instances/${instance.id}`)).instance.url}/web/health`,
    );
    expect(health.status).toBe(200);
  });
});

describe('backups from the CLI', () => {
  it('downloads (resuming a partial file, checksum verified), pins, clones, imports and deletes', {
    timeout: 300_000,
  }, async () => {
    const good = JSON.parse((await marina(['backups', 'ls', 'acme/erp/main', '--json'], env)).stdout).find(
      (b: { status: string; trigger: string }) => b.status === 'completed' && b.trigger === 'manual',
    ) as { id: string; sha256: string; sizeBytes: number };
    const output = join(dir, 'download.tar.zst');
    const whole = await readFile(join(dir, 'data', 'backups', instance.id, `${good.id}.tar.zst`));
    // A download cut in the middle: the CLI asks for the rest with a Range request.
    await writeFile(output, whole.subarray(0, Math.floor(whole.length / 3)));
    const downloaded = await marina(['backups', 'download', good.id, '-o', output], env);
    expect(downloaded.code, downloaded.stderr).toBe(0);
    expect(downloaded.stdout).toContain('sha256 verified');
    expect(
      createHash('sha256')
        .update(await readFile(output))
        .digest('hex'),
    ).toBe(good.sha256);

    expect((await marina(['backups', 'pin', good.id], env)).stdout).toContain('is pinned');
    const refused = await marina(['backups', 'rm', good.id, '--yes'], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/pinned/);
    expect((await marina(['backups', 'pin', good.id, '--off'], env)).stdout).toContain('is not pinned');

    const cloned = await marina(['clone', 'acme/erp/main', '--new-name', 'staging', '--project', 'acme/erp'], env);
    expect(cloned.code, cloned.stderr).toBe(0);
    expect(cloned.stderr).toMatch(/100%/);
    const list = JSON.parse((await marina(['instances', 'ls', '--json'], env)).stdout) as {
      name: string;
      status: string;
    }[];
    expect(list.find((i) => i.name === 'staging')?.status).toBe('running');

    const zip = join(dir, 'main.zip');
    expect((await marina(['backups', 'create', 'acme/erp/main', '--format', 'zip'], env)).code).toBe(0);
    const zipBackup = JSON.parse((await marina(['backups', 'ls', 'acme/erp/main', '--json'], env)).stdout).find(
      (b: { format: string; status: string }) => b.format === 'zip' && b.status === 'completed',
    ) as { id: string };
    expect((await marina(['backups', 'download', zipBackup.id, '-o', zip], env)).code).toBe(0);
    const imported = await marina(['import', zip, '--new-name', 'imported', '--project', 'acme/erp'], env);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toMatch(/uploaded/);
    const notZip = await marina(
      ['import', join(dir, 'download.tar.zst'), '--new-name', 'x', '--project', 'acme/erp'],
      env,
    );
    expect(notZip.code).toBe(2);

    expect((await marina(['backups', 'rm', good.id, '--yes'], env)).code).toBe(0);
    expect(existsSync(join(dir, 'data', 'backups', instance.id, `${good.id}.tar.zst`))).toBe(false);
  });
});

function hasPartial(folder: string): boolean {
  try {
    return readdirSync(folder).some((name) => name.endsWith('.partial'));
  } catch {
    return false;
  }
}
