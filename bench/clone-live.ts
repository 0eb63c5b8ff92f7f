/**
 * Clones of live production (issue 18): while a client keeps opening production's /web/login and
 * reading a partner over JSON-RPC, Marina clones production into a new staging instance through its
 * service (what the API's POST /instances/:id/clone calls). Production must answer every request.
 * Then the floor on the same data with the standard tools alone: `pg_dump -Fd` into a scratch
 * volume and `pg_restore` into a fresh database, beside `cp -a` of the filestore folder between two
 * volumes — once under the same requests (like for like), once quiet.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import pg from 'pg';
import {
  createDatabaseFor,
  dropDatabase,
  dropDatabaseAndRole,
  type ServerConnection,
} from '../src/adapters/postgres/admin.js';
import { networkName, postgresAlias } from '../src/modules/hosts/database-servers.js';
import type { OperationView } from '../src/platform/jobs/operations.js';
import { LABEL_NAMESPACE } from '../src/runtime/docker/engine.js';
import { dump, type FloorInput, timed } from './backup-floor.js';
import { type Answer, pollLive } from './live-poll.js';
import { type BenchMarina, system } from './marina.js';
import { report } from './report.js';

const run = promisify(execFile);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
/** What Marina's restores run with (data-plane toolSpec): the floor's pg_restore gets the same, to stay a floor. */
const RESTORE_OPTIONS = '-c maintenance_work_mem=256MB -c synchronous_commit=off';

export interface CloneLiveInput {
  marina: BenchMarina;
  docker: Docker;
  /** Production: filled, running, answering. */
  instanceId: string;
  credentials: { login: string; password: string };
  /** Marina's own work, timed as the bench's other phases (the helper containers that ran, in order). */
  phase: <T>(work: () => Promise<T>) => Promise<{ result: T; ms: number; containers: string }>;
  waitForJob: (id: string) => Promise<OperationView>;
  /** Rows that tell two copies apart (partners, attachments), read as superuser. */
  counts: (db: string) => Promise<string>;
}

/** A client asking one thing again and again; what failed is kept with its reason and time, to be shown. */
interface Probe {
  name: string;
  stop(): Promise<{ answers: Answer[]; failures: { at: number; message: string }[]; slowestMs: number }>;
}

function probe(name: string, ask: () => Promise<string>): Probe {
  const failures: { at: number; message: string }[] = [];
  let slowestMs = 0;
  const poll = pollLive(async () => {
    const started = performance.now();
    try {
      return await ask();
    } catch (error) {
      failures.push({ at: Date.now(), message: (error as Error).message });
      return undefined;
    } finally {
      slowestMs = Math.max(slowestMs, performance.now() - started);
    }
  });
  return { name, stop: async () => ({ answers: await poll.stop(), failures, slowestMs }) };
}

/** `GET /web/login` answered 200; anything else is a failure, with what came back. */
const loginPage = (url: string) => async (): Promise<string> => {
  const response = await fetch(`${url}/web/login`, { signal: AbortSignal.timeout(3000), redirect: 'manual' });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${body.slice(0, 200)}`);
  return 'ok';
};

async function jsonRpc(url: string, service: string, method: string, args: unknown[]): Promise<unknown> {
  const response = await fetch(`${url}/jsonrpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { service, method, args } }),
    signal: AbortSignal.timeout(3000),
  });
  const body = (await response.json()) as { result?: unknown; error?: unknown };
  if (body.error || !response.ok) throw new Error(`HTTP ${response.status}: ${JSON.stringify(body.error)}`);
  return body.result;
}

/**
 * A stateless JSON-RPC read of the company's partner. The login (a slow password hash) happens once:
 * execute_kw checks the password against Odoo's cache, so each request is a real read, not a hash.
 */
async function partnerRead(url: string, db: string, user: { login: string; password: string }) {
  const uid = await jsonRpc(url, 'common', 'login', [db, user.login, user.password]);
  if (typeof uid !== 'number') throw new Error(`JSON-RPC login to ${db} refused: ${JSON.stringify(uid)}`);
  return async (): Promise<string> => {
    const rows = (await jsonRpc(url, 'object', 'execute_kw', [
      db,
      uid,
      user.password,
      'res.partner',
      'read',
      [[1], ['name']],
    ])) as { name?: string }[];
    if (!rows[0]?.name) throw new Error(`no partner name in ${JSON.stringify(rows)}`);
    return rows[0].name;
  };
}

/** Every request's outcome; failures printed (at most 20) with what ran then, since the target is zero. */
async function reportProbes(what: string, probes: Probe[], during: (at: number) => string): Promise<number> {
  let failed = 0;
  for (const p of probes) {
    const { answers, failures, slowestMs } = await p.stop();
    const bad = answers.filter((a) => a.value === undefined).length;
    failed += bad;
    report(
      `  production ${p.name} during ${what}`,
      `${answers.length} requests, ${bad} failed, slowest answer ${seconds(slowestMs)}`,
    );
    for (const f of failures.slice(0, 20))
      report('    failed', `${new Date(f.at).toISOString().slice(11, 23)} (${during(f.at)}) ${f.message}`);
  }
  return failed;
}

interface CloneFloor {
  ms: number;
  dumpMs: number;
  restoreMs: number;
  filesMs: number;
}

/**
 * The standard tools alone: pg_dump -Fd into a scratch volume then pg_restore -j into a fresh
 * database, beside cp -a of the filestore folder into another volume in one container.
 */
async function measureCloneFloor(
  input: FloorInput & { admin: ServerConnection; filesVolume: string; restoreDb: string },
): Promise<CloneFloor> {
  const labels = Object.entries(input.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const scratch = `${input.volume}-clonefloor`;
  for (const volume of [scratch, input.filesVolume]) await run('docker', ['volume', 'create', ...labels, volume]);
  const connection = { host: input.db.host, port: input.db.port, user: input.db.user, password: input.db.password };
  try {
    let dumpMs = 0;
    let restoreMs = 0;
    let filesMs = 0;
    const database = async () => {
      dumpMs = await timed(() => dump(input, scratch));
      restoreMs = await timed(async () => {
        await createDatabaseFor(input.admin, input.restoreDb, input.db.user);
        await run('docker', [
          'run',
          '--rm',
          ...labels,
          '--network',
          input.network,
          '--mount',
          `type=volume,source=${scratch},target=/out,readonly`,
          '-e',
          `PGPASSWORD=${connection.password}`,
          '-e',
          `PGOPTIONS=${RESTORE_OPTIONS}`,
          '--entrypoint',
          'pg_restore',
          input.image,
          '--host',
          connection.host,
          '--port',
          String(connection.port),
          '--username',
          connection.user,
          `--jobs=${input.jobs}`,
          '--no-owner',
          '--no-privileges',
          '--dbname',
          input.restoreDb,
          '/out/dump',
        ]);
      });
    };
    const files = async () => {
      filesMs = await timed(() =>
        run('docker', [
          'run',
          '--rm',
          ...labels,
          '--network',
          'none',
          '--mount',
          `type=volume,source=${input.volume},target=/from,readonly`,
          '--mount',
          `type=volume,source=${input.filesVolume},target=/to`,
          '--entrypoint',
          'cp',
          input.image,
          '-a',
          `/from/filestore/${input.db.name}`,
          `/to/${input.db.name}`,
        ]),
      );
    };
    const ms = await timed(() => Promise.all([database(), files()]));
    return { ms, dumpMs, restoreMs, filesMs };
  } finally {
    await dropDatabase(input.admin, input.restoreDb).catch(() => undefined);
    for (const volume of [scratch, input.filesVolume])
      await run('docker', ['volume', 'rm', '-f', volume]).catch(() => undefined);
  }
}

/** Regular files under a volume's `filestore/<db>`: their paths there and their bytes (none when the folder is missing). */
async function filestoreFiles(image: string, volume: string, db: string): Promise<Map<string, number>> {
  const { stdout } = await run(
    'docker',
    [
      'run',
      '--rm',
      '--network',
      'none',
      '--mount',
      `type=volume,source=${volume},target=/data,readonly`,
      '--entrypoint',
      'find',
      image,
      `/data/filestore/${db}`,
      '-type',
      'f',
      '-printf',
      '%s %P\n',
    ],
    { maxBuffer: 256 * 1024 * 1024 },
  ).catch(() => ({ stdout: '' }));
  const files = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) files.set(line.slice(space + 1), Number(line.slice(0, space)));
  }
  return files;
}

const figures = (files: Map<string, number>): string =>
  `${files.size} files, ${([...files.values()].reduce((sum, size) => sum + size, 0) / 1024 ** 2).toFixed(1)} MiB`;

/** The files a database's attachments name (read as superuser: the bench's own check). */
async function referencedFiles(connection: ServerConnection, database: string): Promise<string[]> {
  const client = new pg.Client({ ...connection, database, application_name: 'marina-bench' });
  await client.connect();
  try {
    const result = await client.query<{ store_fname: string }>(
      'SELECT DISTINCT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL',
    );
    return result.rows.map((row) => row.store_fname);
  } finally {
    await client.end();
  }
}

/**
 * The copy loses nothing: every file its attachments name is there, with the source's size. The
 * folders need not match file for file: Odoo on either side deletes files no attachment names any
 * more (its autovacuum, which neutralization leaves on), whenever its cron comes round.
 */
async function checkCopiedFiles(
  connection: ServerConnection,
  copy: { db: string; files: Map<string, number> },
  source: Map<string, number>,
): Promise<string> {
  const named = await referencedFiles(connection, copy.db);
  const lost = named.filter((name) => !copy.files.has(name));
  // Only what is there can have changed (a lost file is counted once); a file made since has no source size.
  const changed = named.filter(
    (name) => copy.files.has(name) && source.has(name) && source.get(name) !== copy.files.get(name),
  );
  if (lost.length > 0 || changed.length > 0)
    throw new Error(
      `the staging filestore lost ${lost.length} and changed ${changed.length} of the ${named.length} files its attachments name (${[...lost, ...changed].slice(0, 3).join(', ')})`,
    );
  const unnamed = [...source.keys()].filter((name) => !copy.files.has(name)).length;
  return `${figures(copy.files)}; all ${named.length} files the attachments name${unnamed > 0 ? `; ${unnamed} unnamed files of the source's not there (Odoo's garbage collection)` : ''}`;
}

const stepMs = (s: OperationView['steps'][number]) =>
  s.startedAt && s.finishedAt ? new Date(s.finishedAt).getTime() - new Date(s.startedAt).getTime() : Number.NaN;

/** The job's step running at a time (the job's operation record has them all). */
const stepAt = (job: OperationView) => (at: number) =>
  job.steps.find(
    (s) =>
      s.startedAt && new Date(s.startedAt).getTime() <= at && (!s.finishedAt || at <= new Date(s.finishedAt).getTime()),
  )?.name ?? 'between steps';

export async function cloneLive(input: CloneLiveInput): Promise<void> {
  const { marina, instanceId } = input;
  const { services, namespace } = marina;
  const image = marina.config.postgresImage;
  const production = await services.instances.row(instanceId);
  const url = services.instances.url(production) ?? '';
  const server = await services.databaseServers.get(production.database_server_id ?? '');
  const connection = await services.databaseServers.connection(server);
  const read = await partnerRead(url, production.db_name, input.credentials);
  const expected = await read();
  const asking = () => [probe('GET /web/login', loginPage(url)), probe('JSON-RPC partner read', read)];
  const sourceFiles = await filestoreFiles(image, production.volume_name, production.db_name);
  report('clone source: production filestore', figures(sourceFiles));

  let probes = asking();
  const clone = await input.phase(async () => {
    const submitted = await services.backups.clone(system, instanceId, {
      newInstance: { project: marina.projectId, name: 'staging', stage: 'staging', adminLogin: 'bench@example.com' },
    });
    return { job: await input.waitForJob(submitted.job.id), id: submitted.instance.id };
  });
  const job = clone.result.job;
  const failed = await reportProbes('the clone', probes, stepAt(job));
  const staging = await services.instances.row(clone.result.id);
  let loadMs = Number.NaN;
  try {
    report('Marina clone of live production (new staging, total)', seconds(clone.ms));
    report('  steps', job.steps.map((s) => `${s.name} ${seconds(stepMs(s))}`).join(', '));
    report('  containers', clone.containers);
    if (process.env.MARINA_BENCH_VERBOSE)
      report('  steps started at', job.steps.map((s) => `${s.name} ${s.startedAt?.slice(11, 23)}`).join(', '));
    const load = job.steps.find((s) => s.name === 'load');
    if (load) loadMs = stepMs(load);
    report(
      'production requests failed during the clone',
      `${failed} (target 0: ${failed === 0 ? 'met' : 'NOT met'}; partner read "${expected}")`,
    );
    const [source, copy] = [await input.counts(production.db_name), await input.counts(staging.db_name)];
    if (source !== copy) throw new Error(`the staging database differs: ${copy} instead of ${source}`);
    const copied = await filestoreFiles(image, staging.volume_name, staging.db_name);
    report(
      '  staging filestore',
      await checkCopiedFiles(connection, { db: staging.db_name, files: copied }, sourceFiles),
    );
  } finally {
    // Gone before the floor, so that its Odoo does not share the CPU with it (no pre-delete backup).
    await run('docker', ['rm', '-f', '-v', staging.container_name]).catch(() => undefined);
    await run('docker', ['volume', 'rm', '-f', staging.volume_name]).catch(() => undefined);
    await dropDatabaseAndRole(connection, staging.db_name);
    await services.instances.forget(staging.id);
  }

  const floorInput = {
    image,
    network: networkName(namespace),
    db: {
      host: postgresAlias(namespace),
      port: 5432,
      user: 'postgres',
      password: connection.password,
      name: production.db_name,
    },
    admin: connection,
    volume: production.volume_name,
    filesVolume: `${production.volume_name}-clonefloor-files`,
    restoreDb: `${production.db_name}_floor`,
    jobs: marina.config.backups.jobs,
    workDir: '',
    labels: { [LABEL_NAMESPACE]: namespace },
  };
  probes = asking();
  const floor = await measureCloneFloor(floorInput);
  await reportProbes('the floor', probes, () => 'floor');
  const quiet = await measureCloneFloor(floorInput);
  const parts = (f: CloneFloor) =>
    `${seconds(f.ms)} (pg_dump ${seconds(f.dumpMs)} + pg_restore ${seconds(f.restoreMs)} | cp -a ${seconds(f.filesMs)})`;
  report('floor: pg_dump -Fd + pg_restore beside cp -a (same requests)', parts(floor));
  report('floor: the same, production not asked anything', parts(quiet));
  const ratio = clone.ms / floor.ms;
  report('ratio Marina clone / floor', `${ratio.toFixed(2)}× (target ≤ 1.3×: ${ratio <= 1.3 ? 'met' : 'NOT met'})`);
  report('ratio Marina clone / quiet floor', `${(clone.ms / quiet.ms).toFixed(2)}×`);
  // The part of the job that does what the floor does; the rest is neutralizing and starting Odoo.
  report('ratio Marina clone load step / floor', `${(loadMs / floor.ms).toFixed(2)}×`);
}
