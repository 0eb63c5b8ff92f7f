import { existsSync } from 'node:fs';
import { type Static, Type } from 'typebox';
import {
  createDatabaseFor,
  createRole,
  databaseExists,
  dropDatabaseAndRole,
  withClient,
} from '../../adapters/postgres/admin.js';
import type { Instance, OperationError } from '../../db/schema.js';
import { odooPasswordHash } from '../../odoo/password.js';
import { type CatalogEntry, type OdooVersion, versionFacts } from '../../odoo/versions.js';
import { MarinaError } from '../../platform/errors.js';
import {
  defineJob,
  type FailedJob,
  type JobActivity,
  type JobContext,
  type JobMemory,
} from '../../platform/jobs/define.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { Runtime } from '../../runtime/port.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { HostService } from '../hosts/hosts.js';
import { applyTemplate, type InstanceTemplate } from '../templates/apply.js';
import type { DatabaseTemplates } from './db-templates/service.js';
import { deleteJob, provisionJob, restartJob, startJob, stopJob } from './job-specs.js';
import {
  type AddonMount,
  type DatabaseEndpoint,
  initSpec,
  instanceLabels,
  type OdooRuntime,
  odooConf,
  odooErrorLines,
  odooOutputToLog,
  type Placement,
  type RuntimeSecrets,
  serverSpec,
  waitForHealth,
} from './odoo-container.js';
import type { InstanceService } from './service.js';

export interface InstanceJobDeps {
  instances: InstanceService;
  hosts: HostService;
  databaseServers: DatabaseServerService;
  box: SecretBox;
  catalog: Record<OdooVersion, CatalogEntry>;
  bindAddress: string;
  healthTimeoutMs: number;
  namespace: string;
  /** The volume of compiled Python for the instance's host and image, when one is ready (./bytecode.ts). */
  bytecodeOf?: (instance: Instance, catalog: CatalogEntry) => Promise<string | undefined>;
  /** The repository checkouts mounted into the instance (set once repositories are wired). */
  addonsOf?: (instance: Instance) => Promise<AddonMount[]>;
  /** Clones what the instance's project needs before Odoo first starts. */
  prepareAddons?: (job: JobActivity, instance: Instance) => Promise<void>;
  /** Removes the instance's repository checkouts from Marina's disk. */
  removeAddons?: (instance: Instance) => Promise<void>;
  /** A new or copied database is ready, before Odoo starts on it (mail: its outgoing mail server). */
  databaseReady?: (job: JobActivity, instance: Instance) => Promise<void>;
  /** Template databases: a new database as a copy of an initialized one (./db-templates). */
  databaseTemplates?: Pick<DatabaseTemplates, 'provide'>;
  /** The Odoo template the instance was made with (src/modules/templates), if any. */
  templateOf?: (instance: Instance) => Promise<InstanceTemplate | undefined>;
  /** The pre-delete safety backup (set once backups are wired, to keep the modules acyclic). */
  beforeDelete?: (job: JobActivity & JobMemory<BeforeDeleteMemory>, instance: Instance) => Promise<void>;
}

/** What the pre-delete hook (a safety backup) records in the delete job. */
const BeforeDeleteMemory = Type.Object({ backup: Type.String(), scratch: Type.Boolean(), safetyBackup: Type.String() });
type BeforeDeleteMemory = Static<typeof BeforeDeleteMemory>;

/** What provisioning made so far, undone when it fails or is interrupted. */
const ProvisionMemory = Type.Object({
  database: Type.String(),
  volume: Type.String(),
  initContainer: Type.String(),
  container: Type.String(),
});

const HEALTH_TIMEOUT_MS = 180_000;

/** Everything an instance's containers need, resolved from its record. */
export async function runtimeOf(deps: InstanceJobDeps, instance: Instance) {
  const catalog = deps.catalog[instance.odoo_version as OdooVersion];
  if (!catalog)
    throw new MarinaError(
      'MARINA_E_ODOO_VERSION_UNAVAILABLE',
      `Odoo ${instance.odoo_version} is not in the version catalog.`,
    );
  if (!instance.database_server_id)
    throw new MarinaError('MARINA_E_NO_DATABASE', 'The instance has no database server yet.');
  const server = await deps.databaseServers.get(instance.database_server_id);
  const endpoint: DatabaseEndpoint = { host: server.internal_host, port: server.internal_port };
  const secrets: RuntimeSecrets = {
    dbPassword: deps.box.open(instance.db_password, sealedAt('instances', 'db_password', instance.id)),
    masterPassword: deps.box.open(instance.master_password, sealedAt('instances', 'master_password', instance.id)),
  };
  // The organization's own network: the database server is there, other organizations are not.
  const network = await deps.databaseServers.organizationNetwork(server, instance.host_id, instance.organization_id);
  const placement: Placement = { namespace: deps.namespace, network };
  const addons = (await deps.addonsOf?.(instance)) ?? [];
  const bytecode = await deps.bytecodeOf?.(instance, catalog);
  const rt: OdooRuntime = { catalog, endpoint, secrets, placement, addons, ...(bytecode ? { bytecode } : {}) };
  return { ...rt, rt, server, conf: odooConf(instance, rt) };
}

/** The server as the instance's records say it should be. */
async function desiredServer(deps: InstanceJobDeps, instance: Instance) {
  const { rt } = await runtimeOf(deps, instance);
  return serverSpec(rt, instance, deps.instances.publishes(instance) ? deps.bindAddress : null);
}

/** Creates the long-running server with its odoo.conf; it does not start it. */
export async function createServerContainer(
  deps: InstanceJobDeps,
  engine: Runtime,
  instance: Instance,
): Promise<string> {
  return engine.createInstance(await desiredServer(deps, instance));
}

/**
 * Sets what `-i base` leaves as admin/admin: the customer's login, a strong password (stored only
 * as Odoo's own pbkdf2 hash), their language and country, and the instance's URL. With a
 * template: the company named after the organization, and no demo user signing in with the
 * password every Odoo user knows (demo/demo, portal/portal).
 */
async function personalize(
  deps: InstanceJobDeps,
  instance: Instance,
  template: InstanceTemplate | undefined,
  hash: string,
): Promise<void> {
  const connection = await deps.databaseServers.forInstance(instance);
  const url = deps.instances.url(instance);
  await withClient(connection, instance.db_name, async (db) => {
    await db.query('BEGIN');
    const admin = await db.query<{ partner_id: number }>(
      "UPDATE res_users SET login = $1, password = $2 WHERE login = 'admin' RETURNING partner_id",
      [instance.admin_login, hash],
    );
    if (admin.rowCount !== 1)
      throw new MarinaError('MARINA_E_ODOO_COMMAND_FAILED', 'The new database has no "admin" user to hand over.');
    await db.query('UPDATE res_partner SET email = $1, lang = $2 WHERE id = $3', [
      instance.admin_login,
      instance.language,
      admin.rows[0]?.partner_id,
    ]);
    if (url) {
      await db.query(
        `INSERT INTO ir_config_parameter (key, value) VALUES ('web.base.url', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [url],
      );
    }
    if (instance.country) {
      await db.query(
        'UPDATE res_partner SET country_id = (SELECT id FROM res_country WHERE code = $1) WHERE id IN (SELECT partner_id FROM res_company)',
        [instance.country],
      );
    }
    if (template) await applyTemplate(db, template, admin.rows[0]?.partner_id);
    await db.query('COMMIT');
  });
}

async function undoProvisioning(
  deps: InstanceJobDeps,
  instanceId: string,
  resources: Partial<Static<typeof ProvisionMemory>>,
): Promise<void> {
  // Nothing remembered: the job failed before it made anything.
  if (Object.keys(resources).length === 0) return;
  const instance = await deps.instances.row(instanceId).catch(() => undefined);
  if (!instance) return;
  const engine = await deps.hosts.reachableRuntime(instance.host_id);
  await engine.remove(`${instance.container_name}-init`);
  await engine.remove(`${instance.container_name}-template-files`);
  await engine.remove(instance.container_name);
  if (resources.volume) await engine.removeVolume(instance.volume_name);
  if (resources.database && instance.database_server_id) {
    const server = await deps.databaseServers.get(instance.database_server_id);
    await dropDatabaseAndRole(await deps.databaseServers.connection(server), instance.db_name);
  }
}

/** Odoo installs base (and the template's modules) into the empty database itself. */
async function initializeCold(
  job: JobActivity,
  docker: Runtime,
  rt: OdooRuntime,
  instance: Instance,
  template: InstanceTemplate | undefined,
): Promise<void> {
  const init = initSpec(rt, instance, {
    language: instance.language,
    modules: template?.modules,
    demo: template?.demo,
  });
  // Odoo logs ~100 lines for base: a rough but honest progress within the step.
  const result = await docker.run(init, { onOutput: odooOutputToLog(job) });
  if (result.exitCode !== 0) {
    throw new MarinaError(
      'MARINA_E_ODOO_COMMAND_FAILED',
      `Odoo could not initialize the database (exit code ${result.exitCode}):\n${odooErrorLines(result.output).join('\n')}`,
    );
  }
}

function provisionHandler(deps: InstanceJobDeps) {
  return defineJob({
    ...provisionJob,
    resources: ProvisionMemory,
    run: async (job) => {
      const id = job.operation.target_id ?? '';
      let instance = await deps.instances.row(id);
      let engine: Runtime | undefined;
      const catalog = deps.catalog[instance.odoo_version as OdooVersion];

      await job.step('validate', async () => {
        engine = await deps.hosts.reachableRuntime(instance.host_id);
        if (!(await engine.hasImage(catalog.image))) {
          throw new MarinaError(
            'MARINA_E_IMAGE_MISSING',
            `The Odoo image ${catalog.image} is not on host ${instance.host_id}; pull it there or set MARINA_ODOO_${Number.parseInt(catalog.version, 10)}_IMAGE.`,
          );
        }
        if (catalog.sourceMount && !existsSync(catalog.sourceMount)) {
          throw new MarinaError(
            'MARINA_E_ODOO_VERSION_UNAVAILABLE',
            `The Odoo source ${catalog.sourceMount} (MARINA_ODOO_${Number.parseInt(catalog.version, 10)}_SOURCE) does not exist.`,
          );
        }
      });
      const docker = engine as Runtime;

      await job.step('database', async () => {
        const server = await deps.databaseServers.forInstances(instance.host_id);
        instance = await deps.instances.setStatus(id, 'provisioning', null);
        await deps.instances.attachDatabaseServer(id, server.id);
        instance = await deps.instances.row(id);
        await job.remember('database', instance.db_name);
        // The database itself comes in the next step: a template's copy, or an empty one for Odoo.
        await createRole(
          await deps.databaseServers.connection(server),
          instance.db_name,
          deps.box.open(instance.db_password, sealedAt('instances', 'db_password', instance.id)),
        );
        await job.log(`Role ${instance.db_name} created on ${server.name}; its database comes next.`);
      });

      await job.step('volume', async () => {
        await job.remember('volume', instance.volume_name);
        await docker.ensureVolume(instance.volume_name, instanceLabels(deps.namespace, instance));
      });

      let runtime: Awaited<ReturnType<typeof runtimeOf>> | undefined;
      await job.step('configure', async () => {
        if (deps.prepareAddons) await deps.prepareAddons(job, instance);
        runtime = await runtimeOf(deps, instance);
        await job.log(
          `odoo.conf: one database (${instance.db_name}), no database manager, workers for ${instance.cpus} CPU / ${instance.memory_mb} MB.`,
        );
      });
      const { rt } = runtime as NonNullable<typeof runtime>;

      let containerId = '';
      await job.step('initialize', async () => {
        await job.remember('initContainer', `${instance.container_name}-init`);
        await job.remember('container', instance.container_name);
        const template = await deps.templateOf?.(instance);
        if (template)
          await job.log(
            `Template: installing ${['base', ...template.modules].join(', ')}${template.demo ? ', with demo data' : ''}.`,
          );
        // The server's container and the password's hash are made while the database is.
        const [created, database, hash] = await Promise.allSettled([
          createServerContainer(deps, docker, instance),
          (async () => {
            const copied = await deps.databaseTemplates?.provide({
              job,
              instance,
              rt,
              engine: docker,
              modules: template?.modules ?? [],
              demo: template?.demo ?? false,
            });
            if (copied) return;
            // An empty database only here: made before a copy, it would be dropped again, and
            // DROP DATABASE makes the server checkpoint for every tenant.
            const server = await deps.databaseServers.get(instance.database_server_id ?? '');
            await createDatabaseFor(await deps.databaseServers.connection(server), instance.db_name, instance.db_name);
            await initializeCold(job, docker, rt, instance, template);
          })(),
          odooPasswordHash(
            deps.box.open(instance.admin_password, sealedAt('instances', 'admin_password', instance.id)),
          ),
        ]);
        for (const outcome of [database, created, hash]) if (outcome.status === 'rejected') throw outcome.reason;
        containerId = (created as PromiseFulfilledResult<string>).value;
        await personalize(deps, instance, template, (hash as PromiseFulfilledResult<string>).value);
        await job.log(`The administrator is ${instance.admin_login}; admin/admin does not exist.`);
        await deps.databaseReady?.(job, instance);
      });

      await job.step('start', async () => {
        instance = await deps.instances.setStatus(id, 'provisioning', null, { container_id: containerId });
        await docker.start(containerId);
      });

      await job.step('health', () => healthy(deps, docker, instance));
      return { url: deps.instances.url(instance) };
    },
    recover: async ({ operation, resources }, error) => {
      const id = operation.target_id ?? '';
      try {
        await undoProvisioning(deps, id, resources);
        await deps.instances
          .setStatus(id, 'failed', `${error.step ? `${error.step}: ` : ''}${error.message}`.slice(0, 2000))
          .catch(() => undefined);
      } catch (undoError) {
        await deps.instances
          .setStatus(
            id,
            'failed',
            `Provisioning failed and its cleanup too (${(undoError as Error).message}); reconcile to remove leftovers.`,
          )
          .catch(() => undefined);
        throw undoError;
      }
    },
  });
}

/** Waits until Odoo answers, then records it as running since the container's start. */
export async function healthy(deps: InstanceJobDeps, engine: Runtime, instance: Instance): Promise<void> {
  await waitForHealth(
    () => deps.instances.internalUrl(instance),
    versionFacts(instance.odoo_version as OdooVersion).healthPath,
    deps.healthTimeoutMs,
  );
  const state = await engine.state(instance.container_name);
  // Odoo answers; Docker's own health check reports later ("starting" until then).
  await deps.instances.setStatus(instance.id, 'running', null, {
    started_at: state?.startedAt ?? new Date(),
    health: 'starting',
  });
}

/** Start and restart end the same way: health, or "exited" with the reason. */
function bringUp(
  deps: InstanceJobDeps,
  firstStep: 'start' | 'restart',
  first: (engine: Runtime, instance: Instance) => Promise<Instance>,
) {
  return {
    run: async (job: JobContext<unknown, 'start' | 'restart' | 'health'>) => {
      let instance = await deps.instances.row(job.operation.target_id ?? '');
      const engine = await deps.hosts.reachableRuntime(instance.host_id);
      await job.step(firstStep, async () => {
        instance = await first(engine, instance);
      });
      await job.step('health', () => healthy(deps, engine, instance));
      return undefined;
    },
    recover: async ({ operation }: FailedJob, error: OperationError) => {
      await deps.instances
        .setStatus(operation.target_id ?? '', 'exited', error.message.slice(0, 2000))
        .catch(() => undefined);
    },
  };
}

/**
 * Makes the container again (stopped) when what it would run differs from the records — a new
 * repository mount, addons_path, image or limits — and keeps it, with its logs, otherwise.
 */
export async function ensureServer(deps: InstanceJobDeps, engine: Runtime, instance: Instance): Promise<Instance> {
  const { id, created } = await engine.ensureInstance(await desiredServer(deps, instance));
  if (!created) return instance;
  return deps.instances.setStatus(instance.id, instance.status, instance.status_detail, { container_id: id });
}

const startHandler = (deps: InstanceJobDeps) =>
  defineJob({
    ...startJob,
    ...bringUp(deps, 'start', async (engine, current) => {
      const instance = await ensureServer(deps, engine, await deps.instances.setStatus(current.id, 'starting', null));
      await engine.start(instance.container_name);
      return instance;
    }),
  });

const restartHandler = (deps: InstanceJobDeps) =>
  defineJob({
    ...restartJob,
    ...bringUp(deps, 'restart', async (engine, current) => {
      const instance = await ensureServer(deps, engine, await deps.instances.setStatus(current.id, 'restarting', null));
      // A kept container restarts; a new one (made stopped) starts.
      await engine.restart(instance.container_name);
      return instance;
    }),
  });

function stopHandler(deps: InstanceJobDeps) {
  return defineJob({
    ...stopJob,
    run: async (job) => {
      const id = job.operation.target_id ?? '';
      const instance = await deps.instances.row(id);
      const engine = await deps.hosts.reachableRuntime(instance.host_id);
      await job.step('stop', async () => {
        await deps.instances.setStatus(id, 'stopping', null);
        if (await engine.state(instance.container_name)) await engine.stop(instance.container_name);
        await deps.instances.setStatus(id, 'stopped', null, { started_at: null });
      });
      return undefined;
    },
  });
}

function deleteHandler(deps: InstanceJobDeps) {
  return defineJob({
    ...deleteJob,
    resources: BeforeDeleteMemory,
    run: async (job) => {
      const id = job.operation.target_id ?? '';
      const instance = await deps.instances.row(id);
      const engine = await deps.hosts.reachableRuntime(instance.host_id);
      await job.step('backup', async () => {
        const server = instance.database_server_id
          ? await deps.databaseServers.get(instance.database_server_id)
          : undefined;
        const hasData =
          server !== undefined &&
          (await databaseExists(await deps.databaseServers.connection(server), instance.db_name));
        if (!hasData || !deps.beforeDelete) {
          await job.log('No database to back up before deleting.');
          return;
        }
        await deps.beforeDelete(job, instance);
      });
      await job.step('container', async () => {
        await engine.remove(`${instance.container_name}-init`);
        await engine.remove(instance.container_name);
      });
      await job.step('volume', async () => {
        await engine.removeVolume(instance.volume_name);
        await deps.removeAddons?.(instance);
      });
      await job.step('database', async () => {
        if (instance.database_server_id) {
          const server = await deps.databaseServers.get(instance.database_server_id);
          await dropDatabaseAndRole(await deps.databaseServers.connection(server), instance.db_name);
        }
        await deps.instances.forget(id);
        const server = instance.database_server_id
          ? await deps.databaseServers.get(instance.database_server_id).catch(() => undefined)
          : undefined;
        // Best effort: a network left behind is harmless, and made use of again by the next instance.
        await deps.databaseServers
          .releaseOrganizationNetwork(server, instance.host_id, instance.organization_id)
          .catch((error: Error) => job.log(`The organization's network stays: ${error.message}`, 'warn'));
      });
      return undefined;
    },
    recover: async ({ operation }, error) => {
      // Whatever is left stays listed, marked for another delete; nothing is silently orphaned.
      await deps.instances
        .setStatus(operation.target_id ?? '', 'failed', `Delete failed: ${error.message}`.slice(0, 2000))
        .catch(() => undefined);
    },
  });
}

export function registerInstanceJobs(runner: JobRunner, deps: InstanceJobDeps): void {
  for (const handler of [
    provisionHandler(deps),
    startHandler(deps),
    stopHandler(deps),
    restartHandler(deps),
    deleteHandler(deps),
  ]) {
    runner.register(handler);
  }
}

export { HEALTH_TIMEOUT_MS };
