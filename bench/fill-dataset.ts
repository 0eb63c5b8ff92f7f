/**
 * Runs fillOdooDatabase in its own process, so that the memory the generator uses is not counted
 * as Marina's in the backups benchmark. Input: one JSON argument; output: one JSON line.
 */
import Docker from 'dockerode';
import { fillOdooDatabase } from './odoo-dataset.js';

const args = JSON.parse(process.argv[2] ?? '{}') as {
  connection: { host: string; port: number; user: string; password: string };
  database: string;
  volume: string;
  labels: Record<string, string>;
  bytes: number;
};
const result = await fillOdooDatabase({
  connection: args.connection,
  database: args.database,
  filestoreDir: { engine: new Docker(), volume: args.volume, labels: args.labels },
  targetDbBytes: args.bytes,
  targetFilestoreBytes: args.bytes,
  onProgress: (message) => process.env.MARINA_BENCH_VERBOSE && process.stderr.write(`${message}\n`),
});
process.stdout.write(`${JSON.stringify(result)}\n`);
