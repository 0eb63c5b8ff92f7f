/**
 * A database copied between two hosts' servers while Odoo serves (a move's copy step), so that the
 * downtime only waits for the last changes: the schema is restored on the target, then logical
 * replication copies the rows and follows new writes. Whatever it cannot do safely it declines with a
 * reason, and the move copies the database during the downtime as before.
 */
import { createDatabaseFor, type ServerConnection, withClient, withSuperuser } from '../../adapters/postgres/admin.js';
import {
  caughtUp,
  createPublication,
  createReplicationRole,
  createSlot,
  createSubscription,
  currentLsn,
  dropPublication,
  dropReplicationRole,
  dropSlot,
  pauseSubscription,
  readSequences,
  replicationBlockers,
  schemaDigest,
  setLogin,
  setLoginIn,
  startSubscription,
  stopApplying,
  syncStates,
  unsubscribe,
  walLevel,
  withSubscriber,
  writeSequences,
} from '../../adapters/postgres/replication.js';
import { randomSecret } from '../../platform/secrets/secrets.js';
import { copyDatabaseAcross } from './across-hosts.js';
import type { Credentials, DataPlane } from './data-plane.js';

export interface LiveCopySides {
  source: DataPlane;
  target: DataPlane;
  db: string;
  /** The instance's role: the same name and password on both servers. */
  role: Credentials;
  operationId: string;
}

/** The names of one move's replication objects: derived from the job, so a recovery finds them without memory. */
export function liveCopyNames(operationId: string) {
  const tag = operationId.replace(/[^0-9a-f]/g, '').slice(0, 16);
  return { name: `marina_move_${tag}`, publisher: `marina_move_pub_${tag}`, subscriber: `marina_move_sub_${tag}` };
}

/** Declined: the database is copied during the downtime instead. */
export class LiveCopyDeclined extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const asTenant = (plane: DataPlane, role: Credentials): ServerConnection => ({ ...plane.admin, ...role });

/**
 * Starts the copy and returns once every table is copied and following (or throws: LiveCopyDeclined
 * when the database cannot be replicated safely, any other error when a part failed). The schema
 * digest it returns is compared after the stop: DDL is not replicated.
 */
export async function startLiveCopy(
  sides: LiveCopySides,
  report: (ready: number, tables: number) => void,
  timeoutMs = 3600_000,
): Promise<{ digest: string; subscriberPassword: string }> {
  const { source, target, db, role } = sides;
  const names = liveCopyNames(sides.operationId);
  const level = await walLevel(source.admin);
  if (level !== 'logical')
    throw new LiveCopyDeclined(`the source's database server runs with wal_level=${level}, not logical`);
  const digest = await withClient(asTenant(source, role), db, async (tenant) => {
    const blockers = await replicationBlockers(tenant);
    if (blockers.length > 0) throw new LiveCopyDeclined(`the database has ${blockers.join(', ')}`);
    if (!(await createPublication(tenant, names.name))) throw new LiveCopyDeclined('the database has no table');
    return schemaDigest(tenant);
  });
  const publisherPassword = randomSecret(24);
  await createReplicationRole(source.admin, names.publisher, publisherPassword, role.user, 'publisher');
  // Before anything of the tenant's is in the target database: the only superuser statement there.
  const subscriberPassword = randomSecret(24);
  await createReplicationRole(target.admin, names.subscriber, subscriberPassword, role.user, 'subscriber');
  await createSubscription(target.admin, db, {
    name: names.name,
    owner: names.subscriber,
    publisher: {
      host: source.internal.host,
      port: source.internal.port,
      user: names.publisher,
      password: publisherPassword,
    },
  });
  await copyDatabaseAcross({ plane: source, db, role }, { plane: target, db, role }, 'schema');
  // From here until the switch only the replication writes there: the tenant cannot log in to the copy.
  await setLogin(target.admin, role.user, false);
  await createSlot({ ...source.admin, user: names.publisher, password: publisherPassword }, db, names.name);
  const subscriber = { ...target.admin, user: names.subscriber, password: subscriberPassword };
  await withSubscriber(subscriber, db, (owner) => startSubscription(owner, names.name));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await syncStates(subscriber, db, names.name);
    const tables = Object.values(states).reduce((sum, n) => sum + n, 0);
    report(states.r ?? 0, tables);
    if (tables > 0 && states.r === tables) return { digest, subscriberPassword };
    await failedApply(target.admin, names.name);
    if (Date.now() > deadline) throw new Error(`the tables' first copy took over ${timeoutMs / 60_000} min`);
    await sleep(500);
  }
}

async function failedApply(server: ServerConnection, name: string): Promise<void> {
  const errors = await withSuperuser(server, async (c) => {
    const { rows } = await c.query<{ errors: number }>(
      'SELECT (apply_error_count + sync_error_count)::int AS errors FROM pg_stat_subscription_stats WHERE subname = $1',
      [name],
    );
    return rows[0]?.errors ?? 0;
  });
  if (errors > 0) throw new Error(`the replication failed ${errors} time(s) (the target server's log says why)`);
}

/**
 * Opens its sessions at once and, after Odoo stopped (`stopped`), waits for the last changes, stops
 * the apply, checks that the schema did not change and nothing failed, sets the sequences, and opens
 * the copy to the tenant's role again. This is the downtime: its four sessions (each a tunnel to a
 * node first) are opened while Odoo stops.
 */
export async function finishLiveCopy(
  sides: LiveCopySides,
  started: { digest: string; subscriberPassword: string },
  stopped: Promise<unknown>,
  timeoutMs = 20_000,
): Promise<void> {
  const { source, target, db, role } = sides;
  const names = liveCopyNames(sides.operationId);
  const caught = withSuperuser(source.admin, async (admin) => {
    await stopped;
    const lsn = await currentLsn(admin);
    const deadline = Date.now() + timeoutMs;
    while (!(await caughtUp(admin, names.name, lsn))) {
      if (Date.now() > deadline) {
        await failedApply(target.admin, names.name);
        throw new Error(`the copy did not catch up with ${lsn} within ${timeoutMs / 1000} s`);
      }
      await sleep(50);
    }
  });
  const paused = settled();
  const applyEnded = settled();
  const subscriber = { ...target.admin, user: names.subscriber, password: started.subscriberPassword };
  const applying = withSubscriber(subscriber, db, async (owner) => {
    await paused.from(caught.then(() => pauseSubscription(owner, names.name)));
    await applyEnded.promise;
    const { sequences } = await checked;
    await writeSequences(owner, sequences);
  });
  // The sequences are read once nothing more is applied: every row on the copy committed on the
  // source before that read, so took its id before it, and no sequence is set behind a copied row,
  // whoever still wrote after Odoo stopped (what they wrote after the apply ended is not copied).
  const read = withClient(asTenant(source, role), db, async (tenant) => {
    await stopped;
    await applyEnded.promise;
    return { digest: await schemaDigest(tenant), sequences: await readSequences(tenant) };
  });
  const checked = Promise.all([caught, read]).then(([, found]) => {
    if (found.digest !== started.digest) throw new Error('the schema changed during the copy (DDL is not replicated)');
    return found;
  });
  const opening = withSuperuser(target.admin, async (admin) => {
    await applyEnded.from(paused.promise.then(() => stopApplying(admin, names.name)));
    await checked;
    await setLoginIn(admin, role.user, true);
  });
  // A session that fails before its step (it cannot connect, say) fails the steps waiting for it.
  paused.from(applying);
  applyEnded.from(opening);
  const outcomes = await Promise.allSettled([checked, applying, opening]);
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
}

/** A step others wait for, which tells them its failure too (so that nothing waits forever). */
function settled() {
  let settle: (outcome: Promise<unknown>) => void = () => {};
  const promise = new Promise<void>((resolve, reject) => {
    settle = (outcome) => outcome.then(() => resolve(), reject);
  });
  promise.catch(() => undefined);
  return {
    promise,
    /** Settles like `work`, and gives `work`'s own outcome back. */
    from<T>(work: Promise<T>): Promise<T> {
      settle(work);
      return work;
    },
  };
}

/**
 * Removes what the live copy made: the subscription, the slot, both roles, the publication (when
 * the source's database is still there). Safe to run again and on a copy that never started.
 */
export async function endLiveCopy(sides: LiveCopySides, options: { keepPublication?: boolean } = {}): Promise<void> {
  const { source, target, db, role } = sides;
  const names = liveCopyNames(sides.operationId);
  await unsubscribe(target.admin, db, names.name, names.subscriber);
  await dropSlot(source.admin, names.name);
  await dropReplicationRole(target.admin, names.subscriber);
  await dropReplicationRole(source.admin, names.publisher);
  await setLogin(target.admin, role.user, true).catch(() => undefined);
  if (!options.keepPublication)
    await withClient(asTenant(source, role), db, (tenant) => dropPublication(tenant, names.name)).catch(
      () => undefined,
    );
}

/** A live copy given up before the switch: its objects go and the target's database starts empty again. */
export async function abandonLiveCopy(sides: LiveCopySides): Promise<void> {
  await endLiveCopy(sides);
  await createDatabaseFor(sides.target.admin, sides.db, sides.role.user);
}
