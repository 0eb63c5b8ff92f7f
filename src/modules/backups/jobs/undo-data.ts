import { databaseExists, dropDatabase, renameDatabase } from '../../../adapters/postgres/admin.js';
import type { Instance } from '../../../db/schema.js';
import { type DataPlane, onDataVolume } from '../data-plane.js';
import { type BackupJobDeps, previousDb, tempDb } from './shared.js';

/**
 * What a restore or clone over an instance replaced stays aside as its undo: the database as
 * `<db>_undo`, the filestore folder as `filestore/<db>.undo`. Every move here is a rename, and each
 * function can run again after a crash: it looks at which names exist and does what is left.
 */
export const undoDb = (db: string) => `${db}_undo`;

const HOUR_MS = 3600_000;

/**
 * Odoo is not given time to finish its requests before a swap: they write to the data being put
 * aside, and PostgreSQL rolls back whatever a killed Odoo left open, so the undo stays whole. Its
 * graceful shutdown would add seconds of downtime (measured: 2.4 s of a 7.3 s swap).
 */
export const SWAP_STOP_SECONDS = 0;

/**
 * Before a swap, while Odoo still serves: what an earlier swap left aside goes (with `undo`, the
 * earlier undo too: a new restore replaces it), and the live filestore folder exists, so that what
 * the swap puts aside is always the live database and folder, paired.
 */
export async function clearAside(plane: DataPlane, instance: Instance, { undo }: { undo: boolean }): Promise<void> {
  if (undo) await dropDatabase(plane.admin, undoDb(instance.db_name));
  await dropDatabase(plane.admin, previousDb(instance.db_name));
  await onDataVolume(
    plane,
    instance.volume_name,
    `mkdir -p filestore; cd filestore; rm -rf -- ${undo ? '"$1.undo" ' : ''}"$1.previous"; if [ ! -d "$1" ]; then mkdir -- "$1"; chown 101:101 . "$1"; fi`,
    [instance.db_name],
  );
}

/**
 * After a swap: what it put aside (`_previous`) becomes the undo, kept for the configured hours —
 * or, with none configured, is deleted (once Odoo is back: deleting is not downtime).
 */
export async function keepReplaced(
  deps: BackupJobDeps,
  plane: DataPlane,
  instance: Instance,
  operationId: string,
): Promise<'kept' | 'deleted'> {
  const db = instance.db_name;
  if (deps.restoreUndoHours === 0) {
    await dropDatabase(plane.admin, previousDb(db));
    await onDataVolume(plane, instance.volume_name, 'rm -rf -- "filestore/$1.previous"', [db]);
    return 'deleted';
  }
  if ((await databaseExists(plane.admin, previousDb(db))) && !(await databaseExists(plane.admin, undoDb(db))))
    await renameDatabase(plane.admin, previousDb(db), undoDb(db));
  await onDataVolume(
    plane,
    instance.volume_name,
    'cd filestore 2>/dev/null || exit 0; if [ -d "$1.previous" ] && [ ! -e "$1.undo" ]; then mv -- "$1.previous" "$1.undo"; fi',
    [db],
  );
  const until = new Date(deps.clock.now().getTime() + deps.restoreUndoHours * HOUR_MS);
  await deps.instances.setUndo(instance.id, { until, operationId });
  return 'kept';
}

/**
 * An undo is loaded the way a restore is: the kept database and folder take the names a restore
 * loads into (`_restore`, `.restoring`), so that the same swap puts them in place. Says whether
 * anything was kept.
 */
export async function stageUndo(plane: DataPlane, instance: Instance): Promise<{ db: boolean; files: boolean }> {
  const db = instance.db_name;
  const kept = await databaseExists(plane.admin, undoDb(db));
  if (kept && !(await databaseExists(plane.admin, tempDb(db))))
    await renameDatabase(plane.admin, undoDb(db), tempDb(db));
  const files = await onDataVolume(
    plane,
    instance.volume_name,
    'cd filestore 2>/dev/null || exit 0; if [ -d "$1.undo" ] && [ ! -e "$1.restoring" ]; then mv -- "$1.undo" "$1.restoring"; fi; if [ -d "$1.restoring" ]; then echo staged; fi',
    [db],
  );
  return { db: await databaseExists(plane.admin, tempDb(db)), files: files.includes('staged') };
}

/** An undo stopped before its swap: the kept data goes back under its undo names, untouched. */
export async function unstageUndo(plane: DataPlane, instance: Instance): Promise<void> {
  const db = instance.db_name;
  if ((await databaseExists(plane.admin, tempDb(db))) && !(await databaseExists(plane.admin, undoDb(db))))
    await renameDatabase(plane.admin, tempDb(db), undoDb(db));
  await onDataVolume(
    plane,
    instance.volume_name,
    'cd filestore 2>/dev/null || exit 0; if [ -d "$1.restoring" ] && [ ! -e "$1.undo" ]; then mv -- "$1.restoring" "$1.undo"; fi',
    [db],
  );
}

/** Expired: the kept database and folder are deleted. */
export async function dropUndo(plane: DataPlane, instance: Instance): Promise<void> {
  await dropDatabase(plane.admin, undoDb(instance.db_name));
  await onDataVolume(plane, instance.volume_name, 'rm -rf -- "filestore/$1.undo"', [instance.db_name]);
}
