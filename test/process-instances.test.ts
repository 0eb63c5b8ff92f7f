import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, namespaceObjects, removeNamespace, requireDocker, testNamespace } from './helpers/docker.js';
import { cliMarinaEnv, marina, requireBuild, type Server, setUpAcmeWithCli, startServer } from './helpers/process.js';

/** SIGKILL in the middle of provisioning, with the real `marina` process, Docker and the Odoo stand-in. */
const namespace = testNamespace();
let dir: string;
let env: NodeJS.ProcessEnv;
let url: string;
const running: Server[] = [];
const PASSWORD = 'correct horse battery staple';

function serve(): Server {
  const server = startServer(env);
  running.push(server);
  return server;
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const { token } = JSON.parse(
    await (await import('node:fs/promises')).readFile(join(dir, 'config', 'marina', 'credentials.json'), 'utf8'),
  );
  const response = await fetch(`${url}/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  return (await response.json()) as T;
}

beforeAll(async () => {
  requireBuild();
  await requireDocker();
  ({ dir, url, env } = await cliMarinaEnv(namespace, 'marina-crash-'));
  const server = serve();
  await server.waitFor('Marina is listening');
  await setUpAcmeWithCli(env, url, PASSWORD);
}, 120_000);

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

describe('a Marina killed during provisioning', () => {
  it('marks the job failed with the reason, undoes what it made, and leaves nothing unknown', {
    timeout: 120_000,
  }, async () => {
    // A first instance brings up the managed PostgreSQL, so the second one's steps are all short.
    const first = await marina(
      ['instances', 'create', 'warmup', '--project', 'acme/erp', '--admin-login', 'a@acme.test', '--memory', '768'],
      env,
    );
    expect(first.stderr).toContain('100%');
    expect(first.code).toBe(0);

    const created = JSON.parse(
      (
        await marina(
          [
            'instances',
            'create',
            'victim',
            '--project',
            'acme/erp',
            '--admin-login',
            'a@acme.test',
            '--memory',
            '768',
            '--no-wait',
            '--json',
          ],
          env,
        )
      ).stdout,
    ) as { job: { id: string }; instance: { id: string } };
    let killedAt: string | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !killedAt) {
      const { job } = await api<{ job: { status: string; step: string | null } }>(`/jobs/${created.job.id}`);
      if (job.status === 'running' && (job.step === 'initialize' || job.step === 'start' || job.step === 'health')) {
        (running.at(-1) as Server).child.kill('SIGKILL');
        killedAt = job.step;
      }
      if (job.status === 'succeeded' || job.status === 'failed') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(killedAt, 'the job finished before it could be interrupted').toBeDefined();
    await (running.at(-1) as Server).exited;

    const server = serve();
    await server.waitFor('Marina is listening');
    expect(server.output()).toContain('marking an interrupted job as failed');
    const { job } = await api<{ job: { status: string; error: { code: string; message: string; step: string } } }>(
      `/jobs/${created.job.id}`,
    );
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('MARINA_E_INTERRUPTED');
    expect(job.error.step).toBe(killedAt);
    const { instance } = await api<{ instance: { status: string; statusDetail: string } }>(
      `/instances/${created.instance.id}`,
    );
    expect(instance.status).toBe('failed');
    expect(instance.statusDetail).toContain('Marina stopped while this job was running');

    const report = await api<{ orphans: unknown[]; missing: unknown[] }>('/reconcile');
    expect(report.orphans, JSON.stringify(report)).toEqual([]);
    expect(report.missing, JSON.stringify(report)).toEqual([]);
    const left = await namespaceObjects(namespace);
    const victimShort = created.instance.id.replace(/-/g, '').slice(0, 16);
    expect(left.containers.filter((c) => c.includes(victimShort))).toEqual([]);
    expect(left.volumes.filter((v) => v.includes(victimShort))).toEqual([]);

    // The survivor still works, and the failed instance can be deleted cleanly.
    const rm = await marina(['instances', 'rm', created.instance.id], env);
    expect(rm.code).toBe(0);
    const list = JSON.parse((await marina(['instances', 'ls', '--json'], env)).stdout) as {
      name: string;
      status: string;
    }[];
    expect(list.map((i) => `${i.name}:${i.status}`)).toEqual(['warmup:running']);
    void docker;
  });

  it('operates instances and follows jobs from the CLI', { timeout: 120_000 }, async () => {
    const show = JSON.parse((await marina(['instances', 'show', 'acme/erp/warmup', '--json'], env)).stdout);
    expect(show.instance.status).toBe('running');
    expect(show.stats.databaseBytes).toBeGreaterThan(0);
    expect((await marina(['instances', 'show', 'acme/erp/warmup'], env)).stdout).toMatch(
      /warmup \(development, Odoo 17\.0\) — running/,
    );
    for (const action of ['stop', 'start', 'restart']) {
      const result = await marina(['instances', action, 'acme/erp/warmup'], env);
      expect(result.code, `${action}: ${result.stderr}`).toBe(0);
      expect(result.stderr).toMatch(/\[#{30}\] 100%/);
    }
    expect((await marina(['instances', 'show', 'nope/nope/nope'], env)).code).toBe(2);
    const jobs = JSON.parse((await marina(['jobs', 'ls', '--json'], env)).stdout) as {
      id: string;
      kind: string;
      status: string;
    }[];
    expect(jobs.slice(0, 3).map((j) => j.kind)).toEqual(['instance.restart', 'instance.start', 'instance.stop']);
    const shown = await marina(['jobs', 'show', jobs[0]?.id ?? ''], env);
    expect(shown.stdout).toContain('instance.restart — succeeded (100%)');
    expect(shown.stdout).toContain('✓ health');
    const watched = await marina(['jobs', 'watch', jobs[0]?.id ?? ''], env);
    expect(watched.code).toBe(0);
    expect(watched.stdout).toContain('Done.');
    const failed = jobs.find((j) => j.status === 'failed');
    expect((await marina(['jobs', 'watch', failed?.id ?? ''], env)).code).toBe(1);
    const table = (await marina(['instances', 'ls'], env)).stdout;
    expect(table).toMatch(/NAME\s+STAGE\s+VERSION\s+STATUS/);
    expect(table).toMatch(/warmup\s+development\s+17\.0\s+running/);
  });

  it('shows and follows logs from the CLI', { timeout: 60_000 }, async () => {
    const logs = await marina(['logs', 'acme/erp/warmup', '--tail', '50'], env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} INFO /m);
    const json = (await marina(['logs', 'acme/erp/warmup', '--tail', '50', '--json', '--level', 'WARNING'], env))
      .stdout;
    for (const line of json.trim().split('\n').filter(Boolean))
      expect(['WARNING', 'ERROR', 'CRITICAL']).toContain(JSON.parse(line).level);
    expect((await marina(['logs', 'acme/erp/warmup', '--tail', '5'], env)).code).toBe(2);
    const own = await marina(['logs', 'marina', '--tail', '50', '--grep', 'listening'], env);
    expect(own.stdout).toContain('Marina is listening');

    const { spawn } = await import('node:child_process');
    const { marinaBin, root } = await import('./helpers/process.js');
    const follow = spawn(process.execPath, [marinaBin, 'logs', 'acme/erp/warmup', '-f', '--tail', '50'], {
      env,
      cwd: root,
    });
    let out = '';
    follow.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const { instances } = await api<{ instances: { name: string; url: string }[] }>('/instances');
    const warmup = instances.find((i) => i.name === 'warmup');
    const marker = `/web/login?cli=${Date.now()}`;
    await new Promise((resolve) => setTimeout(resolve, 500));
    await fetch(`${warmup?.url}${marker}`);
    const deadline = Date.now() + 5000;
    while (!out.includes(marker) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    follow.kill('SIGTERM');
    expect(out).toContain(marker);
  });
});
