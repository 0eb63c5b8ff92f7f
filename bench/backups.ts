/**
 * Backups on real Odoo 17 (only with ODOO_SOURCE): one instance filled with ≈ 500 MB of database
 * and ≈ 500 MB of filestore (MARINA_BENCH_BACKUP_MB scales both), then Marina's native backup,
 * native restore (into the same instance, its step timings apart), a staging clone of the instance
 * while it serves (clone-live.ts) and zip backup, against Odoo's own /web/database/backup and
 * /web/database/restore on the same database. Marina runs in this process: its resident memory is
 * sampled every 100 ms during its own phases.
 *
 * Alone: ODOO_SOURCE=/path/to/odoo-17 [MARINA_BENCH_BACKUP_MB=50] npx tsx bench/backups.ts
 * MARINA_BENCH_VERBOSE=1 adds timestamped progress and, with NODE_OPTIONS=--expose-gc, the live heap
 * after a collection before and after each phase (to tell a leak from memory the allocator keeps).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import pg from 'pg';
import type { ServerConnection } from '../src/adapters/postgres/admin.js';
import type { Services } from '../src/app/services.js';
import { networkName, postgresAlias } from '../src/modules/hosts/database-servers.js';
import { type OperationView, operationView } from '../src/platform/jobs/operations.js';
import { LABEL_NAMESPACE } from '../src/runtime/docker/engine.js';
import { measureFloor } from './backup-floor.js';
import { benchRuns, nativeAgainstFloor } from './backup-runs.js';
import { cloneLive } from './clone-live.js';
import { type Answer, downtimeMs, type LivePoll, loginPage, pollLive } from './live-poll.js';
import { benchMarina, system } from './marina.js';
import type { fillOdooDatabase } from './odoo-dataset.js';
import { odooOwnBackupRestore } from './odoo-own-backup.js';
import { report } from './report.js';

const MB = 1024 * 1024;
const ODOO_IMAGE = 'marina-test/odoo-runtime';
const JOB_TIMEOUT_MS = 60 * 60_000;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number): string => `${(bytes / MB).toFixed(0)} MiB`;
const log = (msg: string): void => {
  if (process.env.MARINA_BENCH_VERBOSE) console.log(`  [${new Date().toISOString().slice(11, 19)}] ${msg}`);
};

/** Waits for a job to end (its bus events, with a poll behind them); the final record, steps included. */
async function fillInChild(args: {
  connection: ServerConnection;
  database: string;
  volume: string;
  labels: Record<string, string>;
  bytes: number;
}): ReturnType<typeof fillOdooDatabase> {
  const { execFile } = await import('node:child_process');
  // Beside this file, compiled (npm run bench) or not (tsx bench/backups.ts).
  const compiled = import.meta.url.endsWith('.js');
  const script = new URL(compiled ? './fill-dataset.js' : './fill-dataset.ts', import.meta.url).pathname;
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [...(compiled ? [] : ['--import', 'tsx']), script, JSON.stringify(args)],
      { maxBuffer: 1024 * 1024, env: process.env },
      (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
    ),
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

async function waitForJob(services: Services, id: string): Promise<OperationView> {
  const terminal = (op: { status: string }) => ['succeeded', 'failed', 'cancelled'].includes(op.status);
  await new Promise<void>((resolve, reject) => {
    const bus = services.operations.bus;
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    const finish = (error?: Error) => {
      bus.off(`op:${id}`, listener);
      clearInterval(poll);
      if (error) reject(error);
      else resolve();
    };
    const listener = (op: OperationView) => {
      if (terminal(op)) finish();
    };
    bus.on(`op:${id}`, listener);
    const poll = setInterval(() => {
      services.operations.get(system.actor, id).then(
        (op) => {
          if (terminal(op)) finish();
          else if (Date.now() > deadline) finish(new Error(`job ${id} still ${op.status} after ${JOB_TIMEOUT_MS} ms`));
        },
        (error: Error) => finish(error),
      );
    }, 1000);
  });
  const job = operationView(await services.operations.get(system.actor, id));
  if (job.status !== 'succeeded') {
    const lines = await services.operations.logs(system.actor, id).catch(() => []);
    throw new Error(
      `${job.kind} job ${job.status} in step ${job.error?.step ?? job.step}: ${job.error?.message ?? '(no error)'}\n` +
        lines.map((l) => `    ${l.level} ${l.message}`).join('\n'),
    );
  }
  return job;
}

/** What the backup job said of its stages' times ("pg_dump took 6.3 s.", …), on one line. */
async function stageLines(services: Services, job: OperationView): Promise<string> {
  const lines = await services.operations.logs(system.actor, job.id).catch(() => []);
  const said = lines
    .map((line) => line.message)
    .filter((message) => /\d s[.,]/.test(message))
    .join(' ');
  return `${said} ${jobTimeline(job)}`;
}

/** Where a job's time went around its steps: queued → started, between steps, last step → finished. */
function jobTimeline(job: OperationView): string {
  const at = (iso: string | null | undefined) => (iso ? new Date(iso).getTime() : Number.NaN);
  const marks: string[] = [`queued ${seconds(at(job.startedAt) - at(job.createdAt))}`];
  let last = at(job.startedAt);
  for (const step of job.steps) {
    marks.push(
      `→ ${step.name} ${seconds(at(step.startedAt) - last)} + ${seconds(at(step.finishedAt) - at(step.startedAt))}`,
    );
    last = at(step.finishedAt);
  }
  marks.push(`→ finished ${seconds(at(job.finishedAt) - last)}`);
  return `(job: ${marks.join(' ')})`;
}
const stepMs = (job: OperationView, name: string): number | undefined => {
  const step = job.steps.find((s) => s.name === name);
  if (!step?.startedAt || !step.finishedAt) return undefined;
  return new Date(step.finishedAt).getTime() - new Date(step.startedAt).getTime();
};

/**
 * What Docker says about the helper containers of Marina's jobs (and Odoo's) during a phase: how long
 * each ran (start → die) or, for the never-started carriers, lived (create → destroy). Names lose
 * their per-operation prefix: "dump", "restore", "files", "carrier", the instance's own container….
 */
class ContainerTimes {
  private readonly open = new Map<string, number>();
  private readonly spans: { name: string; ms: number }[] = [];
  private stream: NodeJS.ReadableStream | undefined;

  static async watch(docker: Docker, namespace: string): Promise<ContainerTimes> {
    const times = new ContainerTimes();
    const stream = await docker.getEvents({
      filters: { type: ['container'], label: [`${LABEL_NAMESPACE}=${namespace}`] },
    });
    times.stream = stream;
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        if (line) times.event(JSON.parse(line));
      }
    });
    stream.on('error', () => undefined);
    return times;
  }

  private event(e: {
    Action?: string;
    id?: string;
    timeNano?: number;
    Actor?: { Attributes?: Record<string, string> };
  }) {
    const raw = e.Actor?.Attributes?.name ?? e.id ?? '?';
    const name = raw.replace(/^.*-scratch-[0-9a-f]{16}-/, '');
    const at = (e.timeNano ?? Date.now() * 1e6) / 1e6;
    const key = `${e.id}`;
    if (e.Action === 'start' || e.Action === 'create') {
      if (e.Action === 'start' || !this.open.has(key)) this.open.set(key, at);
      if (e.Action === 'start') this.open.set(`${key}:run`, at);
    } else if (e.Action === 'die') {
      const from = this.open.get(`${key}:run`);
      if (from !== undefined) this.spans.push({ name, ms: at - from });
      this.open.delete(`${key}:run`);
      this.open.delete(key);
    } else if (e.Action === 'destroy') {
      const from = this.open.get(key);
      // A container that never ran (a carrier): its whole life is the time its archives streamed.
      if (from !== undefined) this.spans.push({ name: `${name} (not run)`, ms: at - from });
      this.open.delete(key);
    }
  }

  stop(): string {
    (this.stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    return this.spans.map((s) => `${s.name} ${seconds(s.ms)}`).join(', ');
  }
}

/** With node --expose-gc and MARINA_BENCH_VERBOSE: what is live after a full collection. */
function heap(when: string): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc || !process.env.MARINA_BENCH_VERBOSE) return;
  gc();
  const m = process.memoryUsage();
  log(
    `${when}, after gc: rss ${mib(m.rss)}, heap used ${mib(m.heapUsed)} of ${mib(m.heapTotal)}, ` +
      `external ${mib(m.external)}, array buffers ${mib(m.arrayBuffers)}`,
  );
}

interface Phase<T> {
  result: T;
  ms: number;
  rssBefore: number;
  rssPeak: number;
  /** Helper containers and how long each ran, in order. */
  containers: string;
}

/**
 * Times a phase of Marina's own work, samples this process's resident memory every 100 ms, and
 * records the namespace's containers that ran meanwhile.
 */
async function phase<T>(docker: Docker, namespace: string, work: () => Promise<T>): Promise<Phase<T>> {
  const times = await ContainerTimes.watch(docker, namespace);
  heap('before');
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const timer = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, 100);
  const started = performance.now();
  try {
    const result = await work();
    const ms = performance.now() - started;
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    heap('after');
    // Docker's last events (die, destroy) may trail the job's end by a moment.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { result, ms, rssBefore, rssPeak, containers: times.stop() };
  } finally {
    clearInterval(timer);
    times.stop();
  }
}

async function counts(connection: ServerConnection, database: string): Promise<string> {
  const client = new pg.Client({ ...connection, database, application_name: 'marina-bench' });
  await client.connect();
  try {
    const result = await client.query<{ partners: string; attachments: string }>(
      `SELECT (SELECT count(*) FROM res_partner)::text AS partners,
              (SELECT count(*) FROM ir_attachment WHERE store_fname IS NOT NULL)::text AS attachments`,
    );
    const row = result.rows[0];
    return `${row?.partners} partners, ${row?.attachments} stored attachments`;
  } finally {
    await client.end();
  }
}

async function hasImages(docker: Docker, images: string[]): Promise<boolean> {
  try {
    for (const image of images) await docker.getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
}

/** The load step split at the job's "pg_restore with N jobs…" log line. */
async function loadSplit(services: Services, job: OperationView): Promise<string> {
  const load = job.steps.find((s) => s.name === 'load');
  const lines = await services.operations.logs(system.actor, job.id);
  const mark = lines.find((l) => l.message.startsWith('pg_restore'));
  if (!load?.startedAt || !load.finishedAt || !mark) return 'unknown';
  const at = new Date(mark.at).getTime();
  return `${seconds(at - new Date(load.startedAt).getTime())} | ${seconds(new Date(load.finishedAt).getTime() - at)}`;
}

const ratio = (odoo: number, marina: number, target?: number): string => {
  const r = odoo / marina;
  return `${r.toFixed(2)}×${target === undefined ? '' : ` (target ≥ ${target}×: ${r >= target ? 'met' : 'NOT met'})`}`;
};

const memory = (p: Phase<unknown>): string =>
  `peak ${mib(p.rssPeak)} (before ${mib(p.rssBefore)}, +${mib(p.rssPeak - p.rssBefore)}; ` +
  `target < 200 MiB: ${p.rssPeak < 200 * MB ? 'met' : 'NOT met'})`;

export async function backupsBench(): Promise<void> {
  const source = process.env.ODOO_SOURCE;
  if (!source) {
    report('backups (real Odoo 17)', 'skipped: set ODOO_SOURCE to an Odoo source tree');
    return;
  }
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  if (!(await hasImages(docker, [ODOO_IMAGE, 'marina-test/postgres:15']))) {
    report(
      'backups (real Odoo 17)',
      'skipped: no Docker engine or test images (bash scripts/ensure-docker.sh && bash scripts/build-test-images.sh)',
    );
    return;
  }
  const scaled = Number(process.env.MARINA_BENCH_BACKUP_MB ?? 500);
  if (!Number.isFinite(scaled) || scaled < 1) throw new Error('MARINA_BENCH_BACKUP_MB must be a number of MB ≥ 1');
  const label = `backups (${scaled} MB db + ${scaled} MB files)`;

  const workDir = await mkdtemp(join(tmpdir(), 'marina-bench-backups-'));
  const marina = await benchMarina({ MARINA_ODOO_17_IMAGE: ODOO_IMAGE, MARINA_ODOO_17_SOURCE: source });
  const { services, namespace } = marina;
  try {
    let started = performance.now();
    const { instanceId, credentials } = await marina.provision('backups', 2048);
    log(`provisioned in ${seconds(performance.now() - started)}`);
    const rssIdle = process.memoryUsage.rss();
    const instance = await services.instances.row(instanceId);
    const server = await services.databaseServers.get(instance.database_server_id ?? '');
    const connection = await services.databaseServers.connection(server);

    started = performance.now();
    // In a child process: the generator's memory is not Marina's.
    const filled = await fillInChild({
      connection,
      database: instance.db_name,
      volume: instance.volume_name,
      labels: { [LABEL_NAMESPACE]: namespace },
      bytes: scaled * MB,
    });
    report(
      `${label}: dataset`,
      `database ${mib(filled.dbBytes)}, filestore ${mib(filled.filestoreBytes)} ` +
        `(${filled.partners} partners, ${filled.attachments} attachments; filled in ${seconds(performance.now() - started)})`,
    );
    const before = await counts(connection, instance.db_name);

    const backup = async (format: 'native' | 'zip') =>
      phase(docker, namespace, async () => {
        const created = await services.backups.create(system, instanceId, { kind: 'full', format });
        const job = await waitForJob(services, created.job.id);
        const row = await services.backups.row(created.backup.id);
        return { job, id: created.backup.id, sizeBytes: Number(row.size_bytes) };
      });
    const steps = (job: OperationView): string =>
      job.steps.map((s) => `${s.name} ${seconds(stepMs(job, s.name) ?? Number.NaN)}`).join(', ');

    const native = await backup('native');
    report(`Marina native backup (tar.zst)`, `${seconds(native.ms)}, ${mib(native.result.sizeBytes)}`);
    report('  steps', steps(native.result.job));
    report('  containers', native.containers);
    // The standard tools alone on the same data, right after each: the floor the native backup aims at.
    const floor = () =>
      measureFloor({
        image: 'marina-test/postgres:15',
        network: networkName(namespace),
        db: {
          host: postgresAlias(namespace),
          port: 5432,
          user: 'postgres',
          password: connection.password,
          name: instance.db_name,
        },
        volume: instance.volume_name,
        jobs: marina.config.backups.jobs,
        workDir,
        labels: { [LABEL_NAMESPACE]: namespace },
      });
    // The first backup is the one restored below; the later ones are measured and deleted.
    await nativeAgainstFloor(
      benchRuns(),
      async (run) => {
        const measured = run === 1 ? native : await backup('native');
        if (run > 1) await services.backups.remove(system, measured.result.id);
        return {
          ms: measured.ms,
          sizeBytes: measured.result.sizeBytes,
          stages: await stageLines(services, measured.result.job),
        };
      },
      floor,
    );

    // A user keeps opening /web/login throughout: downtime is what they see of the restore.
    const odooUrl = services.instances.url(instance) ?? '';
    const live = pollLive(loginPage(odooUrl));
    const restore = await phase(docker, namespace, async () => {
      const submitted = await services.backups.restore(system, native.result.id, {});
      return waitForJob(services, submitted.job.id);
    });
    const loadSwap = (stepMs(restore.result, 'load') ?? 0) + (stepMs(restore.result, 'swap') ?? 0);
    const answers = await settle(live, odooUrl);
    const downtime = downtimeMs(answers);
    report('Marina native restore (same instance, total)', seconds(restore.ms));
    report('  steps', steps(restore.result));
    report(
      'restore downtime (last /web/login 200 before → first after)',
      `${seconds(downtime)} (target ≤ 5 s: ${downtime <= 5000 ? 'met' : 'NOT met'}; ${answers.length} requests)`,
    );
    report('  containers', restore.containers);
    report('  load: unpacking the archive | pg_restore and checks', await loadSplit(services, restore.result));
    report('Marina native restore: load + swap', seconds(loadSwap));
    const after = await counts(connection, instance.db_name);
    if (after !== before) throw new Error(`the restored database differs: ${after} instead of ${before}`);
    log(`restored: ${after}`);

    // Like Odoo's restore, into a database and filestore that do not exist yet: nothing to reuse.
    const asNew = await phase(docker, namespace, async () => {
      const submitted = await services.backups.restore(system, native.result.id, {
        newInstance: {
          project: marina.projectId,
          name: 'restored',
          stage: 'development',
          adminLogin: 'bench@example.com',
        },
      });
      return waitForJob(services, submitted.job.id);
    });
    const asNewLoadSwap = (stepMs(asNew.result, 'load') ?? 0) + (stepMs(asNew.result, 'swap') ?? 0);
    report('Marina native restore (new instance, total)', seconds(asNew.ms));
    report('  steps', steps(asNew.result));
    report('  load: unpacking the archive | pg_restore and checks', await loadSplit(services, asNew.result));
    report('Marina native restore (new instance): load + swap', seconds(asNewLoadSwap));
    const restoredId = (asNew.result.result as { instanceId?: string } | null)?.instanceId;
    // Stopped, so that its Odoo does not share the CPU with the measurements that follow.
    if (restoredId) await waitForJob(services, (await services.instances.lifecycle(system, restoredId, 'stop')).id);

    // A staging clone of the same instance while it serves (issue 18), against its own floor.
    await cloneLive({
      marina,
      docker,
      instanceId,
      credentials,
      phase: (work) => phase(docker, namespace, work),
      waitForJob: (id) => waitForJob(services, id),
      counts: (db) => counts(connection, db),
    });

    const zip = await backup('zip');
    report('Marina zip backup (Odoo format)', `${seconds(zip.ms)}, ${mib(zip.result.sizeBytes)}`);
    report('  steps', steps(zip.result.job));
    report('  containers', zip.containers);

    const odoo = await odooOwnBackupRestore({
      engine: docker,
      image: ODOO_IMAGE,
      sourceDir: source,
      network: networkName(namespace),
      db: { host: postgresAlias(namespace), port: 5432, user: 'postgres', password: connection.password },
      hostDb: connection,
      database: instance.db_name,
      volume: instance.volume_name,
      workDir,
      labels: { [LABEL_NAMESPACE]: namespace },
      onProgress: log,
    });
    report(
      "Odoo's own backup (/web/database/backup, zip)",
      `${seconds(odoo.backupSeconds * 1000)}, ${mib(odoo.backupBytes)}`,
    );
    report("Odoo's own restore (/web/database/restore, copy)", seconds(odoo.restoreSeconds * 1000));

    report('ratio Odoo / Marina: backup (native)', ratio(odoo.backupSeconds * 1000, native.ms, 2));
    report('ratio Odoo / Marina: backup (zip)', ratio(odoo.backupSeconds * 1000, zip.ms));
    // Like for like: Odoo's restore loads a copy; Marina's job also stops, swaps and starts the
    // instance (and waits for it to answer), which Odoo's does not — both are shown.
    report('ratio Odoo / Marina: restore (native, load + swap)', ratio(odoo.restoreSeconds * 1000, loadSwap, 2));
    report(
      'ratio Odoo / Marina: restore (native, new instance, load + swap)',
      ratio(odoo.restoreSeconds * 1000, asNewLoadSwap, 2),
    );
    report('ratio Odoo / Marina: restore (native, whole job)', ratio(odoo.restoreSeconds * 1000, restore.ms));
    report('Marina RSS: after provisioning, before the dataset', mib(rssIdle));
    report('Marina RSS: native backup', memory(native));
    report('Marina RSS: native restore', memory(restore));
    report('Marina RSS: native restore (new instance)', memory(asNew));
    report('Marina RSS: zip backup', memory(zip));
  } finally {
    await marina.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await backupsBench();

/** The live client stops once Odoo answers again after the job (the job ends when Odoo is healthy). */
async function settle(live: LivePoll, url: string): Promise<Answer[]> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && (await loginPage(url)().catch(() => undefined)) === undefined)
    await new Promise((resolve) => setTimeout(resolve, 100));
  return live.stop();
}
