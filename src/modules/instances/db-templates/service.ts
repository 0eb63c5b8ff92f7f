import { randomBytes } from 'node:crypto';
import { type Selectable, sql } from 'kysely';
import type { Logger } from 'pino';
import {
  copyTemplateDatabase,
  createRoleAndDatabase,
  databaseExists,
  databaseSize,
  dropTemplateDatabase,
  endTemplateLoan,
  handOverTemplateObjects,
  sealTemplateDatabase,
  withClient,
} from '../../../adapters/postgres/admin.js';
import type { DatabaseTemplatesConfig } from '../../../config-templates.js';
import type { Db } from '../../../db/database.js';
import type { DatabaseServer, DatabaseTemplatesTable, Instance } from '../../../db/schema.js';
import type { CatalogEntry, OdooVersion } from '../../../odoo/versions.js';
import type { Clock } from '../../../platform/clock.js';
import type { JobActivity } from '../../../platform/jobs/define.js';
import type { Runtime } from '../../../runtime/port.js';
import { type DatabaseServerService, namespaceLabels } from '../../hosts/database-servers.js';
import type { HostService } from '../../hosts/hosts.js';
import { initSpec, type OdooRuntime, odooErrorLines, odooOutputToLog } from '../odoo-container.js';
import { copyFilestore, resetIdentity } from './copy.js';
import { type TemplateKey, templateKey } from './recipe.js';

export const TEMPLATE_KIND = 'db-template';
/** A template copied this recently may be in the middle of another copy: pruning leaves it. */
const IN_USE_MS = 10 * 60_000;
/** A build still "building" after this was interrupted (a build takes well under it). */
const STALE_BUILD_MS = 30 * 60_000;

type Row = Selectable<DatabaseTemplatesTable>;
export type DatabaseTemplate = Awaited<ReturnType<DatabaseTemplates['list']>>[number];

/** A recipe kept built ahead: a version's plain `base`, or an Odoo template's modules, language and demo. */
export interface WarmRecipe {
  odooVersion: OdooVersion;
  modules: readonly string[];
  language: string;
  demo: boolean;
}

export interface DatabaseTemplatesDeps {
  catalog: Record<OdooVersion, CatalogEntry>;
  db: Db;
  clock: Clock;
  logger: Logger;
  hosts: HostService;
  databaseServers: DatabaseServerService;
  namespace: string;
  config: DatabaseTemplatesConfig;
}

/** How a template is built: by whom (its container's runtime and sizes), with what, told where. */
interface Builder {
  engine: Runtime;
  rt: OdooRuntime;
  /** The instance (or a stand-in for one) the builder's container and odoo.conf take their sizes from. */
  base: Instance;
  modules: readonly string[];
  demo: boolean;
  log(message: string, level?: 'info' | 'warn' | 'error'): Promise<void>;
  output?: (text: string) => void;
}

/** What a provisioning asks for: its instance (database and role made), how it runs, what to install. */
export interface TemplateUse {
  job: JobActivity;
  instance: Instance;
  rt: OdooRuntime;
  engine: Runtime;
  modules: readonly string[];
  demo: boolean;
}

/**
 * Template databases: Odoo initializes a recipe once per database server, and new instances are
 * copies of it (CREATE DATABASE … TEMPLATE, plus the template's filestore), with their own
 * identity. Anything that goes wrong sends the provisioning down the cold path, saying why.
 */
export class DatabaseTemplates {
  constructor(private readonly deps: DatabaseTemplatesDeps) {}

  /** Makes the instance's database from a template; false: initialize it cold (the reason is in the job log). */
  async provide(use: TemplateUse): Promise<boolean> {
    if (!this.deps.config.enabled) return false;
    let chosen: { row: Row; server: DatabaseServer } | undefined;
    try {
      chosen = await this.choose(use);
    } catch (error) {
      // Templates only make provisioning faster: whatever breaks in finding one, Odoo can still initialize.
      this.deps.logger.warn({ err: error, instance: use.instance.id }, 'choosing a template database failed');
      await use.job.log(`Choosing a template failed (${messageOf(error)}): initializing cold.`, 'warn');
      return false;
    }
    return chosen ? this.copy(use, chosen.row, chosen.server) : false;
  }

  /** The ready template for the instance's recipe, built now if missing; undefined: go cold (said why). */
  private async choose(use: TemplateUse): Promise<{ row: Row; server: DatabaseServer } | undefined> {
    const { job, instance, rt, engine } = use;
    if (rt.addons.length > 0) {
      await job.log("Templates hold Odoo's own modules only; this project mounts repositories: initializing cold.");
      return undefined;
    }
    const imageId = await engine.imageId(rt.catalog.image);
    if (!imageId || !instance.database_server_id) return undefined;
    const key = await templateKey({
      catalog: rt.catalog,
      imageId,
      modules: use.modules,
      language: instance.language,
      demo: use.demo,
    });
    if (key.missing.length > 0) return undefined;
    const server = await this.deps.databaseServers.get(instance.database_server_id);
    let row = await this.find(server.id, key.keyHash);
    if (row && this.expired(row)) {
      await this.remove(row);
      row = undefined;
    }
    if (row?.status === 'building') {
      await job.log('The template for this recipe is being built: initializing cold.');
      return undefined;
    }
    if (row?.status === 'failed') await this.remove(row);
    if (row?.status !== 'ready') {
      row = await this.build(
        {
          engine,
          rt,
          base: instance,
          modules: use.modules,
          demo: use.demo,
          log: (message, level) => job.log(message, level),
          output: odooOutputToLog(job),
        },
        key,
        server,
      );
      if (!row) {
        await job.log('Initializing cold.');
        return undefined;
      }
    }
    return { row, server };
  }

  private async build(builder: Builder, key: TemplateKey, server: DatabaseServer): Promise<Row | undefined> {
    const { engine, rt, base, log } = builder;
    const short = randomBytes(8).toString('hex');
    const inserted = await this.deps.db
      .insertInto('database_templates')
      .values({
        database_server_id: server.id,
        host_id: base.host_id,
        key_hash: key.keyHash,
        recipe_hash: key.recipeHash,
        recipe: JSON.stringify(key.recipe),
        db_name: `marina_tpl_${short}`,
        volume_name: `${this.deps.namespace}-dbtemplate-${short}`,
        status: 'building',
        created_at: this.deps.clock.now(),
      })
      .onConflict((oc) => oc.columns(['database_server_id', 'key_hash']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) {
      await log('Another provisioning has just started building this template.');
      return undefined;
    }
    await log(`No template for ${key.recipe.modules.join(', ')} yet: building it (once per database server).`);
    const started = performance.now();
    try {
      const connection = await this.deps.databaseServers.connection(server);
      const password = randomBytes(24).toString('base64url');
      await createRoleAndDatabase(connection, inserted.db_name, password);
      await engine.ensureVolume(inserted.volume_name, namespaceLabels(this.deps.namespace, TEMPLATE_KIND, inserted.id));
      // Built like the instance would be, in the template's own database and volume.
      const template = {
        ...base,
        db_name: inserted.db_name,
        volume_name: inserted.volume_name,
        container_name: `${this.deps.namespace}-dbtemplate-${short}`,
      };
      const result = await engine.run(
        initSpec({ ...rt, secrets: { ...rt.secrets, dbPassword: password } }, template, {
          language: base.language,
          modules: builder.modules,
          demo: builder.demo,
        }),
        builder.output ? { onOutput: builder.output } : {},
      );
      if (result.exitCode !== 0)
        throw new Error(`Odoo exited with ${result.exitCode}: ${odooErrorLines(result.output).join('\n')}`);
      await sealTemplateDatabase(connection, inserted.db_name);
      const ready = await this.deps.db
        .updateTable('database_templates')
        .set({
          status: 'ready',
          ready_at: this.deps.clock.now(),
          build_ms: Math.round(performance.now() - started),
          bytes: await databaseSize(connection, inserted.db_name),
        })
        .where('id', '=', inserted.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await log(`Template ${ready.db_name} built in ${seconds(ready.build_ms ?? 0)}.`);
      await this.prune(server.id).catch((error) => this.deps.logger.warn({ error }, 'pruning templates failed'));
      return ready;
    } catch (error) {
      const message = (error as Error).message.slice(0, 2000);
      await log(`Building the template failed (${message}).`, 'warn');
      await this.deps.db
        .updateTable('database_templates')
        .set({ status: 'failed', error: message })
        .where('id', '=', inserted.id)
        .execute();
      await this.dropLeftovers(inserted).catch(() => undefined);
      return undefined;
    }
  }

  private async copy(use: TemplateUse, row: Row, server: DatabaseServer): Promise<boolean> {
    const { job, instance, rt, engine } = use;
    const started = performance.now();
    await this.deps.db
      .updateTable('database_templates')
      .set({ last_used_at: this.deps.clock.now(), uses: sql`uses + 1` })
      .where('id', '=', row.id)
      .execute();
    const connection = await this.deps.databaseServers.connection(server);
    const instanceRole = { ...connection, ...this.deps.databaseServers.roleOf(instance) };
    try {
      const database = async () => {
        try {
          await copyTemplateDatabase(connection, row.db_name, instance.db_name, instance.db_name);
          return await withClient(instanceRole, instance.db_name, async (client) => {
            await handOverTemplateObjects(client, row.db_name);
            return resetIdentity(client, this.deps.clock.now());
          });
        } finally {
          await endTemplateLoan(connection, row.db_name, instance.db_name);
        }
      };
      // The database and the files are copied side by side; both must end before either is trusted.
      const timed = async <T>(work: Promise<T>) => {
        const from = performance.now();
        return { value: await work, took: seconds(performance.now() - from) };
      };
      const [copied, files] = await Promise.allSettled([
        timed(database()),
        timed(copyFilestore(engine, rt, instance, row)),
      ]);
      if (copied.status === 'rejected') throw copied.reason;
      if (files.status === 'rejected') throw files.reason;
      const uuid = copied.value.value;
      const [databaseTook, filesTook] = [copied.value.took, files.value.took];
      await job.log(
        `Database copied from template ${row.db_name} in ${seconds(performance.now() - started)} (database ${databaseTook}, files ${filesTook}); its own uuid is ${uuid}.`,
      );
      return true;
    } catch (error) {
      await job.log(`Copying the template failed (${(error as Error).message}): initializing cold.`, 'warn');
      // A template whose database is gone is built again on the next need.
      if (!(await databaseExists(connection, row.db_name)))
        await this.deps.db
          .updateTable('database_templates')
          .set({ status: 'failed', error: 'its database is missing' })
          .where('id', '=', row.id)
          .execute();
      // The caller makes the empty database for the cold path (over whatever the copy left).
      return false;
    }
  }

  /**
   * Builds a recipe's template on a host's database server before any instance needs it (the
   * recipes a platform admin marks warm). Says what it found or did.
   */
  async buildAhead(
    hostId: string,
    recipe: WarmRecipe,
  ): Promise<'ready' | 'built' | 'building' | 'failed' | 'no image'> {
    const catalog = this.deps.catalog[recipe.odooVersion];
    const engine = await this.deps.hosts.reachableRuntime(hostId);
    const imageId = await engine.imageId(catalog.image);
    if (!imageId) return 'no image';
    const server = await this.deps.databaseServers.forInstances(hostId);
    const key = await templateKey({ catalog, imageId, ...recipe });
    if (key.missing.length > 0) return 'failed';
    let row = await this.find(server.id, key.keyHash);
    if (row && (this.expired(row) || row.status === 'failed')) {
      await this.remove(row);
      row = undefined;
    }
    if (row) return row.status === 'ready' ? 'ready' : 'building';
    const rt: OdooRuntime = {
      catalog,
      endpoint: { host: server.internal_host, port: server.internal_port },
      secrets: { dbPassword: '', masterPassword: randomBytes(24).toString('base64url') },
      placement: {
        namespace: this.deps.namespace,
        network: await this.deps.databaseServers.templatesNetwork(server, hostId),
      },
      addons: [],
    };
    // What an instance's container would take its labels and sizes from; names are the template's.
    const base = {
      id: '',
      organization_id: '',
      project_id: '',
      host_id: hostId,
      name: 'template',
      stage: 'development',
      odoo_version: recipe.odooVersion,
      language: recipe.language,
      cpus: 1,
      memory_mb: 1024,
    } as unknown as Instance;
    const log = async (message: string, level: 'info' | 'warn' | 'error' = 'info') => {
      this.deps.logger[level === 'error' ? 'warn' : level]({ recipe }, `template databases: ${message}`);
    };
    const built = await this.build({ engine, rt, base, modules: recipe.modules, demo: recipe.demo, log }, key, server);
    return built ? 'built' : 'failed';
  }

  /** Past its age, or a build that never finished. One copied minutes ago waits until no copy may read it. */
  private expired(row: Row): boolean {
    const maxAgeMs = this.deps.config.maxAgeDays * 86_400_000;
    const now = this.deps.clock.now().getTime();
    if (row.status === 'building') return now - row.created_at.getTime() > STALE_BUILD_MS;
    if (this.inUse(row)) return false;
    return row.status === 'ready' && row.ready_at !== null && now - row.ready_at.getTime() > maxAgeMs;
  }

  private inUse(row: Row): boolean {
    return row.last_used_at !== null && this.deps.clock.now().getTime() - row.last_used_at.getTime() < IN_USE_MS;
  }

  private find(serverId: string, keyHash: string): Promise<Row | undefined> {
    return this.deps.db
      .selectFrom('database_templates')
      .selectAll()
      .where('database_server_id', '=', serverId)
      .where('key_hash', '=', keyHash)
      .executeTakeFirst();
  }

  /**
   * Keeps a server's templates within bounds: older builds of a recipe (something in its key
   * changed), templates past their age, the least recently used beyond the cap, failed and
   * interrupted builds. A template copied in the last minutes stays.
   */
  async prune(serverId: string): Promise<number> {
    const rows = await this.deps.db
      .selectFrom('database_templates')
      .selectAll()
      .where('database_server_id', '=', serverId)
      .execute();
    const ready = rows.filter((r) => r.status === 'ready').sort((a, b) => lastTouched(b) - lastTouched(a));
    const newestOfRecipe = new Map<string, Row>();
    for (const r of [...ready].sort((a, b) => (b.ready_at?.getTime() ?? 0) - (a.ready_at?.getTime() ?? 0)))
      if (!newestOfRecipe.has(r.recipe_hash)) newestOfRecipe.set(r.recipe_hash, r);
    const doomed = rows.filter((r) => {
      if (r.status === 'failed') return true;
      if (r.status === 'building') return this.expired(r);
      if (this.inUse(r)) return false;
      return (
        newestOfRecipe.get(r.recipe_hash) !== r || this.expired(r) || ready.indexOf(r) >= this.deps.config.maxPerServer
      );
    });
    for (const r of doomed) await this.remove(r);
    return doomed.length;
  }

  /** Drops a template's database, role and files, then forgets it. */
  async remove(row: Row): Promise<void> {
    await this.dropLeftovers(row);
    await this.deps.db.deleteFrom('database_templates').where('id', '=', row.id).execute();
  }

  private async dropLeftovers(row: Row): Promise<void> {
    const server = await this.deps.databaseServers.get(row.database_server_id);
    await dropTemplateDatabase(await this.deps.databaseServers.connection(server), row.db_name);
    const engine = await this.deps.hosts.reachableRuntime(row.host_id);
    await engine.remove(`${this.deps.namespace}-dbtemplate-${row.db_name.slice('marina_tpl_'.length)}-init`);
    await engine.removeVolume(row.volume_name);
  }

  async list() {
    return this.deps.db
      .selectFrom('database_templates')
      .select([
        'id',
        'database_server_id',
        'host_id',
        'recipe',
        'db_name',
        'volume_name',
        'status',
        'error',
        'uses',
        'build_ms',
        'bytes',
        'created_at',
        'ready_at',
        'last_used_at',
      ])
      .orderBy('created_at', 'desc')
      .execute();
  }

  async get(id: string): Promise<Row | undefined> {
    return this.deps.db.selectFrom('database_templates').selectAll().where('id', '=', id).executeTakeFirst();
  }
}

const lastTouched = (r: Row) => (r.last_used_at ?? r.ready_at ?? r.created_at).getTime();

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
