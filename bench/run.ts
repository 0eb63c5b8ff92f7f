/**
 * npm run bench — Marina's numbers on this machine: the foundation (embedded database, sign-in,
 * API throughput, audit queries, memory), provisioning, and logs. Bounded in time; loopback only.
 */
import { foundationBench } from './foundation.js';
import { logsBench } from './logs.js';
import { provisioningBench } from './provisioning.js';

await foundationBench();
await provisioningBench();
await logsBench();
