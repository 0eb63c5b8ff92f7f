import type pg from 'pg';
import { withClient } from '../../adapters/postgres/admin.js';
import type { Instance } from '../../db/schema.js';
import { MarinaError } from '../../platform/errors.js';
import type { JobContext } from '../../platform/jobs/runner.js';
import type { Runtime } from '../../runtime/port.js';
import { type InstanceJobDeps, runtimeOf } from './jobs.js';
import { odooErrorLines, odooOutputToLog, oneOffSpec } from './odoo-container.js';

export interface OdooRun {
  /** Names the one-off container: `<instance container>-<suffix>`. */
  suffix: string;
  cmd: string[];
  env?: Record<string, string>;
}

/**
 * Runs a one-off Odoo container of the instance (its image, odoo.conf, addons and data volume) and
 * fails with Odoo's own error lines when it exits non-zero or logged an ERROR or CRITICAL line.
 */
export async function runOdoo(
  deps: InstanceJobDeps,
  runtime: Runtime,
  instance: Instance,
  job: Pick<JobContext<unknown>, 'log' | 'progress'>,
  run: OdooRun,
  what: string,
): Promise<string> {
  const { rt } = await runtimeOf(deps, instance);
  const result = await runtime.run(oneOffSpec(rt, instance, run), { onOutput: odooOutputToLog(job) });
  // Odoo logs a module that fails to load and still exits 0: its ERROR lines count as a failure.
  const errors = result.output.split('\n').filter((l) => / (ERROR|CRITICAL) /.test(l));
  if (result.exitCode !== 0 || errors.length > 0) {
    throw new MarinaError(
      'MARINA_E_ODOO_COMMAND_FAILED',
      `${what} failed (exit code ${result.exitCode}):\n${odooErrorLines(result.output).join('\n')}`,
    );
  }
  return result.output;
}

/**
 * Runs a query on the instance's own database as the instance's own role: what the tenant planted
 * there (views, triggers, search_path) runs with the tenant's rights only.
 */
export async function onInstanceDatabase<T>(
  deps: InstanceJobDeps,
  instance: Instance,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  return withClient(await deps.databaseServers.forInstance(instance), instance.db_name, work);
}

/** Modules Odoo counts as installed (an upgrade applies to these only). */
export async function installedModules(deps: InstanceJobDeps, instance: Instance): Promise<Set<string>> {
  return onInstanceDatabase(deps, instance, async (c) => {
    const rows = await c.query<{ name: string }>(
      "SELECT name FROM ir_module_module WHERE state IN ('installed', 'to upgrade')",
    );
    return new Set(rows.rows.map((r) => r.name));
  });
}
