import type { Static } from 'typebox';
import { databaseSize } from '../../adapters/postgres/admin.js';
import type { Actor } from '../../platform/context.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { HostService } from '../hosts/hosts.js';
import { ODOO_DATA_DIR } from './odoo-container.js';
import type { InstanceStats as InstanceStatsSchema } from './schemas.js';
import type { InstanceService } from './service.js';

/** An instance's figures as the API answers them (the `InstanceStats` schema). */
export type InstanceStats = Static<typeof InstanceStatsSchema>;

export interface InstanceStatsServiceDeps {
  instances: InstanceService;
  hosts: HostService;
  databaseServers: DatabaseServerService;
}

export class InstanceStatsService {
  constructor(private readonly deps: InstanceStatsServiceDeps) {}

  async stats(actor: Actor, id: string): Promise<InstanceStats> {
    const instance = await this.deps.instances.get(actor, id);
    const runtime = await this.deps.hosts.reachableRuntime(instance.host_id);
    const state = await runtime.state(instance.container_name);
    const result: InstanceStats = {
      at: new Date().toISOString(),
      running: state?.running ?? false,
      cpuPercent: null,
      memoryBytes: null,
      memoryLimitBytes: null,
      networkRxBytes: null,
      networkTxBytes: null,
      databaseBytes: null,
      filestoreBytes: null,
      uptimeSeconds:
        state?.running && state.startedAt ? Math.round((Date.now() - state.startedAt.getTime()) / 1000) : null,
    };
    const work: Promise<unknown>[] = [];
    if (state?.running) {
      work.push(
        runtime.stats(instance.container_name).then((stats) => {
          Object.assign(result, stats);
        }),
        runtime
          .exec(instance.container_name, ['du', '-sb', `${ODOO_DATA_DIR}/filestore/${instance.db_name}`], {
            user: 'odoo',
          })
          .then((out) => {
            const bytes = Number(out.output.trim().split(/\s+/)[0]);
            result.filestoreBytes = out.exitCode === 0 && Number.isFinite(bytes) ? bytes : 0;
          }),
      );
    }
    if (instance.database_server_id) {
      work.push(
        this.deps.databaseServers
          .get(instance.database_server_id)
          .then((server) => this.deps.databaseServers.connection(server))
          .then((connection) => databaseSize(connection, instance.db_name))
          .then((bytes) => {
            result.databaseBytes = bytes;
          }),
      );
    }
    await Promise.allSettled(work);
    return result;
  }
}
