/**
 * npm run bench — Marina's numbers on this machine: the foundation (embedded database, sign-in,
 * API throughput, audit queries, memory), provisioning, logs, backups, offsite copies, the edge under
 * change (domains, reloads), Marina's own metric series and what watching costs, and repository updates
 * (on real Odoo 17 only, with ODOO_SOURCE), Marina with 500 instances and 2,000 rows (scale), and the
 * cluster on three real Docker engines (bring-up, hosts added, a lost node seen), and the benchmark
 * instance moved between two nodes (real Odoo 17).
 * Bounded in time; loopback only.
 */
import { setFlagsFromString } from 'node:v8';
import { backupsBench } from './backups.js';
import { clusterBench } from './cluster.js';
import { clusterMoveBench } from './cluster-move.js';
import { edgeBench } from './edge.js';
import { foundationBench } from './foundation.js';
import { logsBench } from './logs.js';
import { metricsCostBench } from './metrics-cost.js';
import { metricsScrapeBench } from './metrics-scrape.js';
import { metricsSeriesBench } from './metrics-series.js';
import { offsiteBench } from './offsite.js';
import { provisioningBench } from './provisioning.js';
import { repositoriesBench } from './repositories.js';
import { scaleBench } from './scale.js';
import { signupBench } from './signup.js';
import { soakBench } from './soak.js';

// Marina runs in this process, with the heap flags `npm start` gives it; this one is refused in
// NODE_OPTIONS (package.json's bench script gives the others).
setFlagsFromString('--heap-growing-percent=30');

// `npm run bench -- provisioning backups` runs only those; no names: all of them.
const benches: Record<string, () => Promise<void>> = {
  foundation: foundationBench,
  provisioning: provisioningBench,
  logs: logsBench,
  backups: backupsBench,
  offsite: offsiteBench,
  edge: edgeBench,
  repositories: repositoriesBench,
  signup: signupBench,
  scale: scaleBench,
  cluster: clusterBench,
  'cluster-move': clusterMoveBench,
  'metrics-series': metricsSeriesBench,
  'metrics-scrape': metricsScrapeBench,
  'metrics-cost': metricsCostBench,
  soak: soakBench,
};
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0)
  throw new Error(`unknown bench ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);
for (const [name, bench] of Object.entries(benches)) if (wanted.length === 0 || wanted.includes(name)) await bench();
