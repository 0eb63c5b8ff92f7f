/**
 * Logical replication of a tenant database between two real PostgreSQL 15 servers on one Docker
 * network, as a move uses it: who runs what (the tenant's trigger never as superuser), what is
 * declined, the catch-up, the schema digest, the sequences, and that nothing is left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeNamespace, requireDocker, TEST_IMAGES, testNamespace } from '../../../test/helpers/docker.js';
import { createRoleAndDatabase, type ServerConnection, waitUntilReady, withClient, withSuperuser } from './admin.js';
import {
  caughtUp,
  createPublication,
  createReplicationRole,
  createSlot,
  createSubscription,
  currentLsn,
  dropReplicationRole,
  dropSlot,
  pauseSubscription,
  readSequences,
  replicationBlockers,
  schemaDigest,
  setLogin,
  startSubscription,
  stopApplying,
  syncStates,
  unsubscribe,
  withSubscriber,
  writeSequences,
} from './replication.js';

const namespace = testNamespace();
const SUPER = 'Su_per-secret-password-0001';
const TENANT = { user: 'tenant_db', password: 'Te_nant-password-000000001' };
const NAMES = { name: 'marina_move_0123', publisher: 'marina_move_pub_0123', subscriber: 'marina_move_sub_0123' };
const PUBLISHER_PASSWORD = 'Pu_blisher-password-00001';
const SUBSCRIBER_PASSWORD = 'Su_bscriber-password-0001';

async function server(name: string, network: string): Promise<ServerConnection> {
  const container = await docker.createContainer({
    name: `${namespace}-${name}`,
    Image: TEST_IMAGES.postgres,
    Cmd: ['postgres', '-c', 'wal_level=logical'],
    Env: [`POSTGRES_PASSWORD=${SUPER}`],
    Labels: { 'io.marina.namespace': namespace },
    HostConfig: { PortBindings: { '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    ExposedPorts: { '5432/tcp': {} },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [name] } } },
  });
  await container.start();
  const port = Number((await container.inspect()).NetworkSettings.Ports['5432/tcp']?.[0]?.HostPort);
  const connection = { host: '127.0.0.1', port, user: 'postgres', password: SUPER };
  await waitUntilReady(connection, 60_000);
  await createRoleAndDatabase(connection, TENANT.user, TENANT.password);
  return connection;
}

const tenantOf = (s: ServerConnection) => ({ ...s, ...TENANT });
const query = <T extends object>(s: ServerConnection, sql: string) =>
  withClient(s, TENANT.user, async (c) => (await c.query<T>(sql)).rows);
const TABLE = 'create table item (id serial primary key, note text);';
/** Only on the copy, outside the publication: the tenant's spy, made to fire on replication too. */
const SPY = `
  create table seen (id serial primary key, who text, superuser text);
  create function spy() returns trigger language plpgsql as $$
  begin
    insert into public.seen (who, superuser) values (current_user, current_setting('is_superuser'));
    return new;
  end $$;
  create trigger spy before insert on item for each row execute function spy();
  alter table item enable always trigger spy;`;

describe('logical replication of a tenant database (real PostgreSQL 15)', () => {
  let source: ServerConnection;
  let target: ServerConnection;

  beforeAll(async () => {
    await requireDocker();
    await docker.createNetwork({ Name: namespace, Labels: { 'io.marina.namespace': namespace } });
    [source, target] = await Promise.all([server('source', namespace), server('target', namespace)]);
    await query(
      tenantOf(source),
      `${TABLE} insert into item (note) select 'row ' || g from generate_series(1, 500) g;`,
    );
  }, 120_000);

  afterAll(() => removeNamespace(namespace));

  it('copies and follows the tables as a member of the tenant role, never as superuser, then catches up after the stop', async () => {
    const digest = await withClient(tenantOf(source), TENANT.user, async (tenant) => {
      expect(await replicationBlockers(tenant)).toEqual([]);
      expect(await createPublication(tenant, NAMES.name)).toBe(true);
      return schemaDigest(tenant);
    });
    await createReplicationRole(source, NAMES.publisher, PUBLISHER_PASSWORD, TENANT.user, 'publisher');
    await createReplicationRole(target, NAMES.subscriber, SUBSCRIBER_PASSWORD, TENANT.user, 'subscriber');
    const subscription = {
      name: NAMES.name,
      owner: NAMES.subscriber,
      publisher: { host: 'source', port: 5432, user: NAMES.publisher, password: PUBLISHER_PASSWORD },
    };
    // The superuser's one statement there is made while the database is empty, never after.
    await createSubscription(target, TENANT.user, subscription);
    // The owner lost superuser right after; everything else is the owner's, a member of the tenant's role.
    const [owner] = await withSuperuser(
      target,
      async (c) => (await c.query('select rolsuper from pg_roles where rolname = $1', [NAMES.subscriber])).rows,
    );
    expect(owner).toEqual({ rolsuper: false });
    // The copy's schema, as the tenant's role restores it, with the tenant's trigger.
    await query(tenantOf(target), `${TABLE} ${SPY}`);
    await expect(
      createSubscription(target, TENANT.user, { ...subscription, name: 'marina_move_other' }),
    ).rejects.toThrow(/not empty/);
    await setLogin(target, TENANT.user, false);
    await expect(query(tenantOf(target), 'select 1')).rejects.toThrow(/not permitted to log in/);
    await createSlot({ ...source, user: NAMES.publisher, password: PUBLISHER_PASSWORD }, TENANT.user, NAMES.name);
    const subscriber = { ...target, user: NAMES.subscriber, password: SUBSCRIBER_PASSWORD };
    await withSubscriber(subscriber, TENANT.user, (c) => startSubscription(c, NAMES.name));
    await expect.poll(() => syncStates(subscriber, TENANT.user, NAMES.name), { timeout: 60_000 }).toEqual({ r: 1 });

    // Writes while it follows, then "the stop": the last position is confirmed.
    await query(tenantOf(source), "insert into item (note) values ('written while copying')");
    const lsn = await withSuperuser(source, (c) => currentLsn(c));
    await expect.poll(() => withSuperuser(source, (c) => caughtUp(c, NAMES.name, lsn)), { timeout: 20_000 }).toBe(true);
    // The apply ends for good before the sequences are read: a row written after that is not copied,
    // and its id is in the sequence read, so the copy's sequence is never behind a copied row.
    await withSubscriber(subscriber, TENANT.user, (c) => pauseSubscription(c, NAMES.name));
    await withSuperuser(target, (c) => stopApplying(c, NAMES.name));
    const applying =
      "select count(*)::int as n from pg_stat_subscription where subname = 'marina_move_0123' and pid is not null";
    expect(await withSuperuser(target, async (c) => (await c.query(applying)).rows)).toEqual([{ n: 0 }]);
    await query(tenantOf(source), "insert into item (note) values ('after the apply ended')");
    const sequences = await withClient(tenantOf(source), TENANT.user, async (tenant) => {
      expect(await schemaDigest(tenant)).toBe(digest);
      return readSequences(tenant);
    });
    expect(await withSubscriber(subscriber, TENANT.user, (c) => writeSequences(c, sequences))).toBeGreaterThan(0);
    await setLogin(target, TENANT.user, true);

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const copied = await query<{ n: number }>(tenantOf(target), 'select count(*)::int as n from item');
    expect(copied).toEqual([{ n: 501 }]);
    // The tenant's trigger ran on the replicated rows, as the subscription's owner, never as a superuser.
    const seen = await query<{ who: string; superuser: string }>(
      tenantOf(target),
      'select distinct who, superuser from seen order by who',
    );
    expect(seen).toContainEqual({ who: NAMES.subscriber, superuser: 'off' });
    expect(seen.filter((row) => row.superuser !== 'off')).toEqual([]);
    // The sequence follows: the next row does not collide.
    expect(await query(tenantOf(target), "insert into item (note) values ('after') returning id")).toEqual([
      { id: 503 },
    ]);

    // A change of schema shows in the digest (DDL is not replicated).
    await query(tenantOf(source), 'alter table item add column extra text');
    expect(await withClient(tenantOf(source), TENANT.user, schemaDigest)).not.toBe(digest);

    // Nothing stays: no subscription, no slot, no replication role; the database can be dropped.
    await unsubscribe(target, TENANT.user, NAMES.name, NAMES.subscriber);
    await dropSlot(source, NAMES.name);
    await dropReplicationRole(target, NAMES.subscriber);
    await dropReplicationRole(source, NAMES.publisher);
    const left = await withSuperuser(source, async (c) => ({
      slots: (await c.query('select slot_name from pg_replication_slots')).rows,
      roles: (await c.query("select rolname from pg_roles where rolname like 'marina_move%'")).rows,
    }));
    expect(left).toEqual({ slots: [], roles: [] });
    await withSuperuser(target, (c) => c.query(`drop database ${TENANT.user} with (force)`));
  }, 180_000);

  it('declines what it cannot replicate safely: a table without a key, row-level security, an unlogged table', async () => {
    await query(
      tenantOf(source),
      `create table loose (note text);
       create table guarded (id int primary key); alter table guarded enable row level security;
       create unlogged table scratch (id int primary key);`,
    );
    const reasons = await withClient(tenantOf(source), TENANT.user, replicationBlockers);
    expect(reasons.sort()).toEqual([
      'no primary key or replica identity on public.loose',
      'row-level security on public.guarded',
      'unlogged table public.scratch',
    ]);
  });
});
