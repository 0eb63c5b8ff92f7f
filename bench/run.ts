/**
 * npm run bench — Marina's numbers on this machine: the foundation (embedded database, sign-in,
 * API throughput, audit queries, memory), provisioning, logs, backups, offsite copies, the edge under
 * change (domains, reloads), Marina's own metric series and what watching costs, and repository updates
 * (on real Odoo 17 only, with ODOO_SOURCE). Bounded in time; loopback only.
 */
import { backupsBench } from './backups.js';
import { edgeBench } from './edge.js';
import { foundationBench } from './foundation.js';
import { logsBench } from './logs.js';
import { metricsCostBench } from './metrics-cost.js';
import { metricsScrapeBench } from './metrics-scrape.js';
import { metricsSeriesBench } from './metrics-series.js';
import { offsiteBench } from './offsite.js';
import { provisioningBench } from './provisioning.js';
import { repositoriesBench } from './repositories.js';
import { signupBench } from './signup.js';
import { soakBench } from './soak.js';

await foundationBench();
await provisioningBench();
await logsBench();
await backupsBench();
await offsiteBench();
await edgeBench();
await repositoriesBench();
await signupBench();
await metricsSeriesBench();
await metricsScrapeBench();
await metricsCostBench();
await soakBench();
