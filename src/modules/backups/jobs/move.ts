import { type Static, Type } from 'typebox';
import {
  createRoleAndDatabase,
  databaseExists,
  dropDatabaseAndRole,
  roleExists,
} from '../../../adapters/postgres/admin.js';
import type { Instance } from '../../../db/schema.js';
import { MarinaError } from '../../../platform/errors.js';
import { defineJob, type JobContext } from '../../../platform/jobs/define.js';
import { SwarmRuntime } from '../../../runtime/swarm/runtime.js';
import { createServerContainer, healthy } from '../../instances/jobs.js';
import { instanceLabels } from '../../instances/odoo-container.js';
import {
  copyDatabaseAcross,
  copyFilestoreAcross,
  filestoreDelta,
  type ListedFile,
  listFilestore,
  removeFilestoreFiles,
} from '../across-hosts.js';
import { createScratch, type DataPlane, databaseFacts, freshFilestoreFolder, removeScratch } from '../data-plane.js';
import {
  abandonLiveCopy,
  endLiveCopy,
  finishLiveCopy,
  LiveCopyDeclined,
  type LiveCopySides,
  startLiveCopy,
} from '../live-copy.js';
import { type BackupJobDeps, planeFor, roleOf } from './shared.js';
import { type MoveStep, moveJob } from './specs.js';
import { SWAP_STOP_SECONDS } from './undo-data.js';

/** What a move made or changed so far: its recovery undoes it (before the switch) or finishes it. */
const MoveMemory = Type.Object({
  /** The target's database server, once the instance's role and database were made there. */
  targetServer: Type.String(),
  targetVolume: Type.Boolean(),
  wasRunning: Type.Boolean(),
  stopped: Type.Boolean(),
  /** The instance's record names the target: from here on the move is finished, never undone. */
  switched: Type.Boolean(),
  sourceHost: Type.String(),
  sourceServer: Type.String(),
  /** A live copy was started: its replication objects may exist on both servers. */
  live: Type.Boolean(),
});
type MoveMemory = Static<typeof MoveMemory>;
type MoveContext = JobContext<Static<typeof moveJob.input>, MoveStep, MoveMemory>;

const since = (start: number) => `${((Date.now() - start) / 1000).toFixed(1)} s`;

/** The instance as it will be on the target: the same names, another host and database server. */
const onTarget = (instance: Instance, hostId: string, serverId: string): Instance => ({
  ...instance,
  host_id: hostId,
  database_server_id: serverId,
});

/**
 * Moves an instance to another host (a cluster node): its data is copied while it serves (the
 * filestore), then it stops; the database is copied and the files that changed follow; its record
 * switches to the target, where it starts; only then is the old copy deleted. The job says how long
 * the instance was down.
 */
export const moveHandler = (deps: BackupJobDeps) =>
  defineJob({
    ...moveJob,
    resources: MoveMemory,
    run: async (job: MoveContext) => {
      const id = job.operation.target_id ?? '';
      let instance = await deps.instances.row(id);
      const to = job.input.to;
      const source = await planeFor(deps, instance, job.operation.id);
      const role = await roleOf(deps, instance);
      let target: DataPlane | undefined;
      let planned = instance;

      await job.step('prepare', async () => {
        if (instance.host_id === to) throw new MarinaError('MARINA_E_CONFLICT', `The instance is already on ${to}.`);
        await job.remember('sourceHost', instance.host_id);
        await job.remember('sourceServer', instance.database_server_id ?? '');
        const server = await deps.databaseServers.forInstances(to);
        const admin = await deps.databaseServers.connection(server);
        // Never over data already there (what a lost node kept of the instance, before it was recovered).
        if ((await roleExists(admin, instance.db_name)) || (await databaseExists(admin, instance.db_name)))
          throw new MarinaError(
            'MARINA_E_CONFLICT',
            `${to}'s database server already has a database or role named ${instance.db_name} (left there earlier): remove it first.`,
          );
        const engine = await deps.hosts.reachableRuntime(to);
        if (await engine.volumeExists(instance.volume_name))
          throw new MarinaError(
            'MARINA_E_CONFLICT',
            `${to} already has a volume named ${instance.volume_name} (left there earlier): remove it first.`,
          );
        await job.remember('targetServer', server.id);
        await createRoleAndDatabase(admin, instance.db_name, role.password);
        await job.remember('targetVolume', true);
        planned = onTarget(instance, to, server.id);
        await engine.ensureVolume(instance.volume_name, instanceLabels(deps.namespace, planned));
        target = await planeFor(deps, planned, job.operation.id);
        await freshFilestoreFolder(target, instance.volume_name, instance.db_name);
        await job.log(`${instance.name} moves from ${instance.host_id} to ${to}.`);
      });
      const there = target as DataPlane;

      // While Odoo serves: the filestore, whose files never change once written (named by their hash),
      // and the database, by logical replication when it can be (live-copy.ts).
      const sides: LiveCopySides = {
        source,
        target: there,
        db: instance.db_name,
        role,
        operationId: job.operation.id,
      };
      let live: Awaited<ReturnType<typeof startLiveCopy>> | undefined;
      let copiedFiles = new Map<string, ListedFile>();
      await job.step('copy', async () => {
        const facts = await databaseFacts(source, instance.db_name, role);
        await Promise.all([createScratch(source), createScratch(there)]);
        const shares = { files: 0, tables: 0 };
        const progress = () => void job.progress(Math.min(99, (shares.files + shares.tables) * 50));
        await job.remember('live', true);
        const started = Date.now();
        const database = startLiveCopy(sides, (ready, tables) => {
          shares.tables = ready / Math.max(1, tables);
          progress();
        }).then(
          async (copy) => {
            await job.log(`Database copied while it served (logical replication) in ${since(started)}.`);
            return copy;
          },
          async (error: Error) => {
            const declined = error instanceof LiveCopyDeclined;
            await job.log(
              `No live copy of the database (${declined ? '' : 'failed: '}${error.message}): it is copied during the downtime.`,
              declined ? 'info' : 'warn',
            );
            await abandonLiveCopy(sides);
            return undefined;
          },
        );
        const files = copyFilestoreAcross(
          { plane: source, volume: instance.volume_name },
          { plane: there, volume: instance.volume_name },
          instance.db_name,
          {
            onBytes: (bytes) => {
              shares.files = bytes / Math.max(1, facts.filestoreBytes);
              progress();
            },
          },
        ).then(async (copied) => {
          await job.log(`Copied while it served: ${copied.files} filestore files (${copied.bytes} bytes).`);
          // Only the move writes there: the listing the delta compares with is taken before the downtime.
          copiedFiles = await listFilestore(there, instance.volume_name, instance.db_name);
        });
        const [db, fs] = await Promise.allSettled([database, files]);
        if (fs.status === 'rejected') throw fs.reason;
        if (db.status === 'rejected') throw db.reason;
        live = db.value;
      });

      // Downtime starts here.
      const downSince = Date.now();
      const sourceEngine = await deps.hosts.reachableRuntime(instance.host_id);
      // The live copy's last part opens its sessions while Odoo stops, then waits for the stop.
      let stopped = (_error?: Error) => {};
      const whenStopped = new Promise<void>((resolve, reject) => {
        stopped = (error) => (error ? reject(error) : resolve());
      });
      whenStopped.catch(() => undefined);
      const finishing = live
        ? finishLiveCopy(sides, live, whenStopped).then(
            () => undefined,
            (error: Error) => error,
          )
        : undefined;
      await job
        .step('stop', async () => {
          const stopping = Date.now();
          const state = await sourceEngine.state(instance.container_name);
          await job.remember('wasRunning', Boolean(state?.running));
          await job.remember('stopped', true);
          instance = await deps.instances.setStatus(id, 'restoring', `moving to ${to}`);
          if (state?.running) await sourceEngine.stop(instance.container_name, SWAP_STOP_SECONDS);
          await job.log(`Stopped on ${instance.host_id} in ${since(stopping)}.`);
        })
        .catch((error: Error) => {
          stopped(error);
          throw error;
        });
      stopped();

      await job.step('sync', async () => {
        const started = Date.now();
        const files = (async () => {
          const from = await listFilestore(source, instance.volume_name, instance.db_name);
          const delta = filestoreDelta(from, copiedFiles);
          const copied =
            delta.copy.length === 0
              ? { files: 0 }
              : await copyFilestoreAcross(
                  { plane: source, volume: instance.volume_name },
                  { plane: there, volume: instance.volume_name },
                  instance.db_name,
                  { names: delta.copy },
                );
          const removed = await removeFilestoreFiles(there, instance.volume_name, instance.db_name, delta.remove);
          await job.log(
            `Filestore since the copy: ${copied.files} files copied, ${removed} deleted (${since(started)}).`,
          );
        })();
        const database = (async () => {
          if (finishing) {
            const failure = await finishing;
            if (!failure) {
              await job.log(`Database: the last changes applied in ${since(started)}.`);
              return;
            }
            await job.log(`The live copy could not finish (${failure.message}): copying the database now.`, 'warn');
            await abandonLiveCopy(sides);
          }
          await copyDatabaseAcross(
            { plane: source, db: instance.db_name, role },
            { plane: there, db: instance.db_name, role },
          );
          await job.log(`Database copied (pg_dump, streamed, pg_restore) in ${since(started)}.`);
        })();
        // Swarm names services cluster-wide: the old one (its task already ended) goes before the new one
        // is made. Only the manager's record: its node's leftovers go in the cleanup, after the downtime.
        const oldService =
          sourceEngine instanceof SwarmRuntime
            ? sourceEngine.forget(instance.container_name)
            : sourceEngine.remove(instance.container_name);
        // All end before any failure is reported: nothing keeps writing after the step.
        const outcomes = await Promise.allSettled([database, files, oldService]);
        for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
      });

      await job.step('switch', async () => {
        instance = await deps.instances.moveTo(id, planned.host_id, planned.database_server_id ?? '');
        await job.remember('switched', true);
      });

      const engine = await deps.hosts.reachableRuntime(instance.host_id);
      const starting = Date.now();
      await job.step('start', async () => {
        const containerId = await createServerContainer(deps, engine, instance);
        instance = await deps.instances.setStatus(id, 'starting', null, { container_id: containerId });
        if (job.resources().wasRunning !== false) await engine.start(instance.container_name);
      });
      await job.step('health', async () => {
        if (job.resources().wasRunning === false) {
          instance = await deps.instances.setStatus(id, 'stopped', null, { started_at: null });
          return;
        }
        await healthy(deps, engine, instance);
        await job.log(`Started on ${to} and answering in ${since(starting)}.`);
      });
      const downtimeMs = Date.now() - downSince;
      await job.log(`Down for ${since(downSince)} (stopped on the old host to answering on ${to}).`);

      await job.step('cleanup', async () => {
        // The instance runs on its new host: a leftover must not turn that into a failure.
        try {
          // The dump's copies: after the downtime, not in it.
          await Promise.all([removeScratch(source), removeScratch(there)]);
          if (job.resources().live) await endLiveCopy(sides, { keepPublication: true });
          if (sourceEngine instanceof SwarmRuntime) await sourceEngine.removeForgotten(instance.container_name);
          await removeOldCopy(deps, instance, job.resources());
        } catch (error) {
          await job.log(
            `The old copy on ${job.resources().sourceHost} stays (reconcile lists it): ${(error as Error).message}`,
            'warn',
          );
        }
      });
      return { instanceId: id, from: job.resources().sourceHost, to, downtimeMs };
    },
    recover: async ({ operation, resources: r }, error) => {
      const id = operation.target_id ?? '';
      const instance = await deps.instances.row(id).catch(() => undefined);
      if (!instance) return;
      const targetHost = (operation.input as { to?: string }).to ?? '';
      // The replication's objects go first: a database with a subscription cannot be dropped.
      if (r.live && r.targetServer && r.sourceHost && r.sourceServer)
        await liveCopySides(deps, instance, operation.id, r, targetHost)
          .then((sides) => endLiveCopy(sides))
          .catch(() => undefined);
      // The record is the truth: a crash between the switch and its memory still counts as switched.
      if (r.switched || (r.sourceHost !== undefined && instance.host_id !== r.sourceHost)) {
        // The record names the target, which has all the data: started there; the old copy stays for reconcile.
        const engine = await deps.hosts.reachableRuntime(instance.host_id);
        try {
          if (!(await engine.state(instance.container_name))) await createServerContainer(deps, engine, instance);
          if (r.wasRunning !== false) await engine.start(instance.container_name);
          await deps.instances.setStatus(id, r.wasRunning === false ? 'stopped' : 'running', null);
        } catch (startError) {
          await deps.instances.setStatus(id, 'exited', `Moved, but: ${(startError as Error).message}`.slice(0, 2000));
        }
        // The dump's copies on both hosts; the old copy itself stays for reconcile to report.
        for (const host of [instance.host_id, r.sourceHost ?? ''])
          await deps.hosts
            .reachableRuntime(host)
            .then((runtime) => removeScratch({ runtime, namespace: deps.namespace, operationId: operation.id }))
            .catch(() => undefined);
        return;
      }
      // Before the switch the instance is whole where it was: what the target got goes.
      if (r.targetServer) {
        const server = await deps.databaseServers.get(r.targetServer);
        await dropDatabaseAndRole(await deps.databaseServers.connection(server), instance.db_name);
        const engine = await deps.hosts.reachableRuntime(targetHost);
        if (r.targetVolume) await engine.removeVolume(instance.volume_name);
        await removeScratch({ runtime: engine, namespace: deps.namespace, operationId: operation.id });
      }
      // A move that failed to reach its source changed nothing there.
      const source = await deps.hosts.reachableRuntime(instance.host_id).catch(() => undefined);
      if (!source) return;
      await removeScratch({ runtime: source, namespace: deps.namespace, operationId: operation.id });
      if (!r.stopped) return;
      try {
        // The switch removes the old service first: made again where the instance still is.
        if (!(await source.state(instance.container_name))) await createServerContainer(deps, source, instance);
        if (r.wasRunning) await source.start(instance.container_name);
        await deps.instances.setStatus(
          id,
          r.wasRunning ? 'running' : 'stopped',
          `The move failed; the instance stays where it was: ${error.message}`.slice(0, 2000),
          r.wasRunning ? { health: 'starting' } : { started_at: null },
        );
      } catch (startError) {
        await deps.instances.setStatus(id, 'exited', (startError as Error).message.slice(0, 2000));
      }
    },
  });

/** Both sides of a move's live copy, from its memory (the record may name either). */
async function liveCopySides(
  deps: BackupJobDeps,
  instance: Instance,
  operationId: string,
  r: Partial<MoveMemory>,
  targetHost: string,
): Promise<LiveCopySides> {
  return {
    source: await planeFor(deps, onTarget(instance, r.sourceHost ?? '', r.sourceServer ?? ''), operationId),
    target: await planeFor(deps, onTarget(instance, targetHost, r.targetServer ?? ''), operationId),
    db: instance.db_name,
    role: await roleOf(deps, instance),
    operationId,
  };
}

/** The instance's volume, database and role on the host it left. */
async function removeOldCopy(deps: BackupJobDeps, instance: Instance, r: Partial<MoveMemory>): Promise<void> {
  if (!r.sourceHost) return;
  const engine = await deps.hosts.reachableRuntime(r.sourceHost);
  await engine.removeVolume(instance.volume_name);
  if (r.sourceServer) {
    const server = await deps.databaseServers.get(r.sourceServer);
    await dropDatabaseAndRole(await deps.databaseServers.connection(server), instance.db_name);
    await deps.databaseServers
      .releaseOrganizationNetwork(server, r.sourceHost, instance.organization_id)
      .catch(() => undefined);
  }
}
