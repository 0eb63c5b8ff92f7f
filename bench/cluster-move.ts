/**
 * Moving the benchmark instance between two cluster nodes (issue #16): real Odoo 17 (ODOO_SOURCE)
 * placed on a node of a real two-node Swarm (scripts/swarm-nodes.sh), filled to the backups
 * benchmark's size (MARINA_BENCH_BACKUP_MB of database and as much filestore; 500 + 500 by default),
 * then moved to the other node and back. Reported: the downtime (stopped there → answering here) and
 * the time of each step. Needs root, dockerd and the test images.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { type OperationView, operationView } from '../src/platform/jobs/operations.js';
import { LABEL_NAMESPACE } from '../src/runtime/port.js';
import { benchMarina, system } from './marina.js';
import { fillOdooDatabase } from './odoo-dataset.js';
import { checkoutFile, report } from './report.js';

const run = promisify(execFile);
const SCRIPT = checkoutFile('scripts/swarm-nodes.sh');
const ENV = {
  MARINA_SWARM_DIR: '/var/lib/marina-move-bench',
  MARINA_SWARM_PREFIX: 'marina-mv',
  MARINA_SWARM_SUBNET: '192.168.238',
  MARINA_SWARM_IMAGES: 'marina-test/odoo-runtime marina-test/postgres:15',
};
const MB = 1024 * 1024;
const script = (...args: string[]) => run('bash', [SCRIPT, ...args], { env: { ...process.env, ...ENV } });
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const stepMs = (job: OperationView, name: string): number => {
  const step = job.steps.find((s) => s.name === name);
  if (!step?.startedAt || !step.finishedAt) return Number.NaN;
  return new Date(step.finishedAt).getTime() - new Date(step.startedAt).getTime();
};

export async function clusterMoveBench(): Promise<void> {
  const source = process.env.ODOO_SOURCE;
  if (!source || process.getuid?.() !== 0) {
    report('cluster move (real Odoo 17)', 'skipped: needs ODOO_SOURCE and root (network namespaces, dockerd)');
    return;
  }
  const scaled = Number(process.env.MARINA_BENCH_BACKUP_MB ?? 500);
  if (!Number.isFinite(scaled) || scaled < 1) throw new Error('MARINA_BENCH_BACKUP_MB must be a number of MB ≥ 1');
  await script('down');
  const up = await script('up', '2');
  const nodes = up.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [name = '', socket = '', , url = ''] = line.split(' ');
      return { name, socket, url };
    });
  const pem = (file: string) => readFileSync(`${ENV.MARINA_SWARM_DIR}/tls/${file}`, 'utf8');
  const tls = { ca: pem('ca.pem'), cert: pem('cert.pem'), key: pem('key.pem') };
  const marina = await benchMarina({
    MARINA_ODOO_17_IMAGE: 'marina-test/odoo-runtime',
    MARINA_ODOO_17_SOURCE: source,
    MARINA_CLUSTER_FOLLOW_S: '1',
  });
  const { services } = marina;
  try {
    for (const node of nodes) await services.nodes.add(system, { name: node.name, dockerHost: node.url, tls });
    const { instanceId } = await marina.provision('move', 2048);
    let instance = await services.instances.row(instanceId);
    const server = await services.databaseServers.get(instance.database_server_id ?? '');
    const filled = await fillOdooDatabase({
      // Through the node's engine, as Marina reaches that node's database server.
      connection: await services.databaseServers.connection(server),
      database: instance.db_name,
      filestoreDir: {
        engine: new Docker({ socketPath: nodes.find((n) => n.name === instance.host_id)?.socket }),
        volume: instance.volume_name,
        labels: { [LABEL_NAMESPACE]: marina.namespace },
      },
      targetDbBytes: scaled * MB,
      targetFilestoreBytes: scaled * MB,
    });
    const label = `cluster move (${Math.round(filled.dbBytes / MB)} MB db + ${Math.round(filled.filestoreBytes / MB)} MB files)`;
    for (const round of [1, 2]) {
      const to = nodes.find((n) => n.name !== instance.host_id)?.name ?? '';
      const { job } = await services.moves.move(system, instanceId, { to });
      const done = await waitFor(services, job.id);
      if (done.status !== 'succeeded') throw new Error(`the move failed: ${done.error?.message}`);
      const result = done.result as { downtimeMs: number; from: string };
      report(`${label}: ${result.from} → ${to} (round ${round}), downtime`, seconds(result.downtimeMs));
      report('  steps', done.steps.map((s) => `${s.name} ${seconds(stepMs(done, s.name))}`).join(', '));
      // The job's own timings of its parts (the test clock is not used here, but the log says more).
      for (const line of await services.operations.logs(system.actor, job.id))
        if (/copied|copy|applied|Stopped|Started|Down for|Filestore/.test(line.message)) report('  log', line.message);
      instance = await services.instances.row(instanceId);
    }
  } finally {
    await services.nodeFollower.stop();
    await marina.close();
    await script('down');
  }
}

async function waitFor(services: Awaited<ReturnType<typeof benchMarina>>['services'], id: string) {
  for (;;) {
    const op = await services.operations.get(system.actor, id);
    if (['succeeded', 'failed', 'cancelled'].includes(op.status)) return operationView(op);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
