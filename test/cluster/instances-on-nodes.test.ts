/**
 * Instances placed on the cluster's nodes (issue #16), on a real two-node Swarm from
 * scripts/swarm-nodes.sh (node1's engine reached over mutual TLS, node2's over SSH) and the Odoo STAND-IN: placement spreads an organization's production
 * instances, each node gets its own managed PostgreSQL (reached by Marina through the node's engine,
 * its port open to no network), the instance answers where Marina and its proxy dial it, status
 * follows the node's events, a backup runs on the node, and deleting leaves nothing behind.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseExists, type ServerConnection, withClient } from '../../src/adapters/postgres/admin.js';
import { sealedAt } from '../../src/platform/secrets/sealed-columns.js';
import { SecretBox } from '../../src/platform/secrets/secret-box.js';
import { as } from '../helpers/app.js';
import { removeNamespace, startDockerMarina, TEST_IMAGES, testNamespace } from '../helpers/docker.js';
import { makeOrganizationWithAdmin, makeProject, requestInstance } from '../helpers/factories.js';
import { followJob } from '../helpers/jobs.js';
import { canRunSwarmNodes as canRun, type SwarmNodeLine, swarmNodes } from '../helpers/swarm-nodes.js';
import { inVolumes } from '../helpers/volumes.js';
import { until as poll } from '../images-test-support.js';

// Apart from the other swarm test files' nodes, so that they can run at once.
const nodes = swarmNodes({
  MARINA_SWARM_DIR: '/var/lib/marina-instances-test',
  MARINA_SWARM_PREFIX: 'marina-in',
  MARINA_SWARM_SUBNET: '192.168.235',
  MARINA_SWARM_IMAGES: `${TEST_IMAGES.standin} ${TEST_IMAGES.postgres}`,
});
if (!canRun) console.warn('instances on nodes: SKIPPED — needs root, dockerd and the main Docker engine');

/** Polls until `check` holds (a value, or true). */
const until = <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> =>
  poll(what, timeoutMs, async () => (await check()) || undefined);

describe.skipIf(!canRun)('instances on the nodes of a real Swarm', () => {
  const namespace = testNamespace();
  let lines: SwarmNodeLine[] = [];
  let marina: Awaited<ReturnType<typeof startDockerMarina>>;
  const call = (...args: Parameters<ReturnType<typeof as>>) => as(marina.t, marina.admin)(...args);
  const line = (name: string) => lines.find((l) => l.name === name) as SwarmNodeLine;
  const engineOf = (name: string) => new Docker({ socketPath: line(name).socket });
  /** Runs a fixed script in a throwaway container of a node with a volume at /data; its output. */
  const inVolume = (node: string, volume: string, script: string) =>
    inVolumes(engineOf(node), { [volume]: '/data' }, script);

  beforeAll(async () => {
    lines = await nodes.up(2);
    marina = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
      MARINA_CLUSTER_HEARTBEAT_S: '1',
      MARINA_CLUSTER_FOLLOW_S: '1',
    });
    marina.t.services.nodeFollower.start();
    // node1 over TCP with mutual TLS, node2 over SSH: everything below runs on both kinds.
    const first = await call('POST', '/api/v1/nodes', {
      name: 'node1',
      dockerHost: line('node1').url,
      tls: nodes.tls(),
    });
    expect(first.statusCode, first.body).toBe(201);
    const second = await call('POST', '/api/v1/nodes', {
      name: 'node2',
      dockerHost: `ssh://root@${line('node2').address}`,
      ssh: nodes.ssh('node2'),
    });
    expect(second.statusCode, second.body).toBe(201);
  }, 300_000);

  afterAll(async () => {
    await marina?.t.services.nodeFollower.stop();
    await marina?.t.close();
    await removeNamespace(namespace);
    await nodes.script('down');
  }, 180_000);

  const instanceRow = (id: string) => marina.t.services.instances.row(id);
  const onNode = async (hostId: string) => {
    const instance = await marina.t.db
      .selectFrom('instances')
      .selectAll()
      .where('host_id', '=', hostId)
      .executeTakeFirst();
    if (!instance) throw new Error(`the first test placed no instance on ${hostId}`);
    return instance;
  };
  const jobOf = async (response: { statusCode: number; body: string; json<T>(): T }) => {
    expect(response.statusCode, response.body).toBe(202);
    const { job } = await followJob(
      marina.baseUrl,
      marina.headers,
      response.json<{ job: { id: string } }>().job.id,
      180_000,
    );
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
  };

  it('spreads production instances over the nodes, each on its node’s own database server, reachable where it is dialled', async () => {
    const project = await makeProject(call, { name: 'erp' });
    const made = [];
    for (const name of ['one', 'two']) {
      const created = await requestInstance(call, {
        project: project.id,
        name,
        stage: 'production',
        memoryMb: 512,
        cpus: 0.5,
      });
      const { job } = await followJob(marina.baseUrl, marina.headers, created.job.id, 180_000);
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
      made.push(await instanceRow(created.instance.id));
    }
    const [one, two] = made as [Awaited<ReturnType<typeof instanceRow>>, Awaited<ReturnType<typeof instanceRow>>];
    expect([one.host_id, two.host_id].sort()).toEqual(['node1', 'node2']);

    for (const instance of made) {
      // The service runs on its own node, and nowhere else.
      const tasks = (await engineOf(instance.host_id).listContainers({
        filters: { label: [`com.docker.swarm.service.name=${instance.container_name}`] },
      })) as unknown[];
      expect(tasks).toHaveLength(1);
      const other = instance.host_id === 'node1' ? 'node2' : 'node1';
      const elsewhere = (await engineOf(other).listContainers({
        filters: { label: [`com.docker.swarm.service.name=${instance.container_name}`] },
      })) as unknown[];
      expect(elsewhere).toHaveLength(0);

      // Its database lives on that node's managed server, which publishes nothing beyond the node's loopback.
      const server = await marina.t.services.databaseServers.get(instance.database_server_id ?? '');
      expect(server.host_id).toBe(instance.host_id);
      const connection = await marina.t.services.databaseServers.connection(server);
      expect(connection.stream).toBeTypeOf('function');
      expect(await databaseExists(connection, instance.db_name)).toBe(true);
      const pg = await engineOf(instance.host_id)
        .getContainer(server.container_name ?? '')
        .inspect();
      const bindings = Object.values(pg.HostConfig.PortBindings ?? {}).flat() as { HostIp: string }[];
      expect(bindings.every((b) => b.HostIp === '127.0.0.1')).toBe(true);

      // Marina (and the edge) dial the node's address: the login page answers there.
      const url = await marina.t.services.instances.internalUrl(instance);
      expect(url).toBe(`http://${line(instance.host_id).address}:${instance.http_port}`);
      const login = await until('the login page', async () => {
        const response = await fetch(`${url}/web/login`).catch(() => undefined);
        return response?.status === 200 ? response : undefined;
      });
      expect(login.status).toBe(200);
    }
  }, 420_000);

  it('follows a node’s events: stopped and started through the API, a container killed on the node, then a backup', async () => {
    const instance = await onNode('node2');
    await jobOf(await call('POST', `/api/v1/instances/${instance.id}/stop`, { confirm: instance.name }));
    expect((await instanceRow(instance.id)).status).toBe('stopped');
    await jobOf(await call('POST', `/api/v1/instances/${instance.id}/start`, {}));
    // A timeout says what the record showed last (the poll keeps the last error it saw).
    const seen = (row: Awaited<ReturnType<typeof instanceRow>>) =>
      new Error(`${row.status} (${row.status_detail ?? '-'}), started ${row.started_at?.toISOString() ?? 'never'}`);
    const before = await until('running', async () => {
      const row = await instanceRow(instance.id);
      if (row.status === 'running' && row.started_at) return row.started_at;
      throw seen(row);
    });

    // Killed behind Marina's back on the node: Swarm starts a new task, and the node's events say so.
    const [task] = await engineOf(instance.host_id).listContainers({
      filters: { label: [`com.docker.swarm.service.name=${instance.container_name}`] },
    });
    await engineOf(instance.host_id)
      .getContainer(task?.Id ?? '')
      .kill();
    await until(
      'the new task seen running',
      async () => {
        const row = await instanceRow(instance.id);
        if (row.status === 'running' && row.started_at && row.started_at > before) return true;
        throw seen(row);
      },
      90_000,
    );
    // Swarm removes an old task's container when it likes (its task history), maybe long after the
    // new task started: that says nothing about the instance, which stays running.
    await engineOf(instance.host_id)
      .getContainer(task?.Id ?? '')
      .remove({ force: true });
    for (let look = 0; look < 10; look += 1) {
      const row = await instanceRow(instance.id);
      expect(row.status, seen(row).message).toBe('running');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    await jobOf(await call('POST', `/api/v1/instances/${instance.id}/backups`, {}));
  }, 240_000);

  /**
   * Writes rows into the instance's database (as Odoo would) until the move's downtime has moved past
   * its stop: a row is counted only if the stop step was not yet done after its commit, so its change
   * came before the copy's last position was taken (after that step is done) and must be on the target.
   */
  const writeWhileCopying = async (tenant: ServerConnection, db: string, jobId: string) => {
    const confirmed: string[] = [];
    await withClient(tenant, db, async (c) => {
      for (let n = 0; n < 100_000; n += 1) {
        const note = `live ${n}`;
        const ok = await c.query('insert into moved_marker (note) values ($1)', [note]).then(
          () => true,
          () => false,
        );
        const steps = (await call('GET', `/api/v1/jobs/${jobId}`)).json<{
          job: { steps: { name: string; status: string }[] };
        }>().job.steps;
        const past = steps.some((step) =>
          step.name === 'stop'
            ? step.status === 'done'
            : !['prepare', 'copy'].includes(step.name) && step.status !== 'pending',
        );
        if (!ok || past) return;
        confirmed.push(note);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }).catch(() => undefined);
    return confirmed;
  };

  it('moves an instance to the other node and back while it serves: its database and files follow, the downtime is told, nothing stays behind', async () => {
    const instance = await onNode('node1');
    const password = SecretBox.fromPassphrase('marina test secret key').open(
      instance.db_password,
      sealedAt('instances', 'db_password', instance.id),
    );
    // As the tenant's own role, on the server of wherever the instance is now.
    const asTenant = async (row: typeof instance) => ({
      ...(await marina.t.services.databaseServers.connection(
        await marina.t.services.databaseServers.get(row.database_server_id ?? ''),
      )),
      user: row.db_name,
      password,
    });
    await withClient(await asTenant(instance), instance.db_name, (c) =>
      c.query(
        "create table moved_marker (id serial primary key, note text); insert into moved_marker (note) values ('kept')",
      ),
    );
    const file = `ab/ab${'7'.repeat(38)}`;
    await inVolume(
      instance.host_id,
      instance.volume_name,
      `mkdir -p /data/filestore/${instance.db_name}/ab && echo attachment > /data/filestore/${instance.db_name}/${file}`,
    );

    for (const to of ['node2', 'node1']) {
      const before = await instanceRow(instance.id);
      // Going back, a table without a key makes the live copy decline: the database is copied in the downtime.
      if (to === 'node1')
        await withClient(await asTenant(before), before.db_name, (c) =>
          c.query("create table no_key (note text); insert into no_key values ('copied offline')"),
        );
      const unconfirmed = await call('POST', `/api/v1/instances/${instance.id}/move`, { to });
      expect(unconfirmed.json().error.code).toBe('MARINA_E_CONFIRMATION_REQUIRED');
      const moving = await call('POST', `/api/v1/instances/${instance.id}/move`, { to, confirm: instance.name });
      expect(moving.statusCode, moving.body).toBe(202);
      const jobId = moving.json<{ job: { id: string } }>().job.id;
      const writes = to === 'node2' ? writeWhileCopying(await asTenant(before), before.db_name, jobId) : undefined;
      const followed = await followJob(marina.baseUrl, marina.headers, jobId, 300_000);
      const { job } = followed;
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
      const { downtimeMs } = job.result as { downtimeMs: number };
      expect(job.result).toMatchObject({ from: before.host_id, to });
      const { logs } = followed;
      console.log(`cluster: moved ${before.host_id} → ${to}, down for ${downtimeMs} ms\n${logs.join('\n')}`);
      expect(downtimeMs).toBeGreaterThan(0);

      const after = await instanceRow(instance.id);
      expect([after.host_id, after.status]).toEqual([to, 'running']);
      const server = await marina.t.services.databaseServers.get(after.database_server_id ?? '');
      expect(server.host_id).toBe(to);
      const rows = await withClient(await asTenant(after), after.db_name, (c) =>
        c.query("select note from moved_marker where note = 'kept'"),
      );
      expect(rows.rows).toEqual([{ note: 'kept' }]);
      // Copied while it served, by logical replication; the sequence follows (not replicated itself).
      if (to === 'node2') expect(logs.join('\n')).toContain('Database copied while it served (logical replication)');
      else {
        expect(logs.join('\n')).toContain('No live copy of the database (the database has no primary key');
        const offline = await withClient(await asTenant(after), after.db_name, (c) =>
          c.query('select note from no_key'),
        );
        expect(offline.rows).toEqual([{ note: 'copied offline' }]);
      }
      // Every write made before the copy's last changes were taken is there.
      const written = (await writes) ?? [];
      if (to === 'node2') expect(written.length).toBeGreaterThan(0);
      const live = await withClient(await asTenant(after), after.db_name, (c) =>
        c.query<{ note: string }>("select note from moved_marker where note like 'live %'"),
      );
      expect(live.rows.map((r) => r.note)).toEqual(expect.arrayContaining(written));
      const next = await withClient(await asTenant(after), after.db_name, (c) =>
        c.query<{ id: number }>("insert into moved_marker (note) values ('after') returning id"),
      );
      const [{ max }] = (
        await withClient(await asTenant(after), after.db_name, (c) =>
          c.query<{ max: number }>('select max(id) as max from moved_marker'),
        )
      ).rows as [{ max: number }];
      expect(next.rows[0]?.id).toBe(max);
      expect(max).toBeGreaterThan(written.length + 1);
      expect(await inVolume(to, after.volume_name, `cat /data/filestore/${after.db_name}/${file}`)).toBe(
        'attachment\n',
      );
      const url = await marina.t.services.instances.internalUrl(after);
      expect(url).toBe(`http://${line(to).address}:${after.http_port}`);
      await until(
        'the login page where it moved',
        async () => (await fetch(`${url}/web/login`).catch(() => undefined))?.ok,
      );

      // The old node keeps nothing of it: no task, no volume, no database.
      const old = before.host_id;
      expect(
        await engineOf(old).listContainers({
          all: true,
          filters: { label: [`com.docker.swarm.service.name=${instance.container_name}`] },
        }),
      ).toHaveLength(0);
      expect(((await engineOf(old).listVolumes()).Volumes ?? []).map((v) => v.Name)).not.toContain(
        instance.volume_name,
      );
      const oldServer = await marina.t.services.databaseServers.get(before.database_server_id ?? '');
      expect(
        await databaseExists(await marina.t.services.databaseServers.connection(oldServer), instance.db_name),
      ).toBe(false);
    }
  }, 600_000);

  it('deletes an instance from its node: the service, its volumes and its database are gone', async () => {
    const instance = await onNode('node1');
    const server = await marina.t.services.databaseServers.get(instance.database_server_id ?? '');
    const removed = await call('DELETE', `/api/v1/instances/${instance.id}?confirm=${instance.name}`);
    expect(removed.statusCode, removed.body).toBe(202);
    const { job } = await followJob(marina.baseUrl, marina.headers, removed.json<{ job: { id: string } }>().job.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const node = engineOf(instance.host_id);
    const services = (await engineOf('node1').listServices({
      filters: { name: [instance.container_name] },
    })) as unknown[];
    expect(services).toHaveLength(0);
    const volumes = ((await node.listVolumes()).Volumes ?? []).map((v) => v.Name);
    expect(volumes).not.toContain(instance.volume_name);
    const connection = await marina.t.services.databaseServers.connection(server);
    expect(await databaseExists(connection, instance.db_name)).toBe(false);
  }, 180_000);

  it('a lost node: its instance becomes unavailable, is recovered on another node from its backup, and the node’s return starts nothing twice', async () => {
    const instance = await onNode('node2');
    const killedAt = Date.now();
    await nodes.kill('node2');
    await until('node2 down', async () => (await marina.t.services.hosts.row('node2')).node_state === 'down', 60_000);
    await until('unavailable', async () => (await instanceRow(instance.id)).status === 'unavailable', 30_000);
    console.log(`cluster: node2 killed → its instance unavailable in ${Date.now() - killedAt} ms`);

    // Only platform admins recover; the preview names the backup and what would be lost.
    const { admin: stranger } = await makeOrganizationWithAdmin(marina.t, marina.admin, { slug: 'stranger' });
    expect((await as(marina.t, stranger)('GET', `/api/v1/instances/${instance.id}/recovery`)).statusCode).toBe(403);
    const preview = (await call('GET', `/api/v1/instances/${instance.id}/recovery`)).json<{
      recovery: { possible: boolean; backup: { id: string } | null; dataLossSeconds: number; node: { state: string } };
    }>().recovery;
    expect(preview.possible).toBe(true);
    expect(preview.node.state).toBe('down');
    expect(preview.backup).not.toBeNull();
    expect(preview.dataLossSeconds).toBeGreaterThanOrEqual(0);
    const unconfirmed = await call('POST', `/api/v1/instances/${instance.id}/recover`, {});
    expect(unconfirmed.json().error.code).toBe('MARINA_E_CONFIRMATION_REQUIRED');

    const recovering = Date.now();
    const recovered = await call('POST', `/api/v1/instances/${instance.id}/recover`, { confirm: instance.name });
    expect(recovered.json<{ node: string }>().node).toBe('node1');
    await jobOf(recovered);
    console.log(`cluster: recovered on node1 from its backup in ${Date.now() - recovering} ms`);
    const after = await instanceRow(instance.id);
    expect([after.host_id, after.status]).toEqual(['node1', 'running']);
    const url = await marina.t.services.instances.internalUrl(after);
    expect(url).toBe(`http://${line('node1').address}:${after.http_port}`);
    await until('the login page on node1', async () => (await fetch(`${url}/web/login`).catch(() => undefined))?.ok);

    // The node returns: Swarm removes the old task there (its service is gone); the instance stays on node1.
    await nodes.script('start', '2');
    await until('node2 ready', async () => (await marina.t.services.hosts.row('node2')).node_state === 'ready', 60_000);
    await until(
      'no task of the instance left on node2',
      async () =>
        (
          await engineOf('node2').listContainers({
            filters: { label: [`com.docker.swarm.service.name=${instance.container_name}`] },
          })
        ).length === 0,
      60_000,
    );
    // What it left on node2 (its volume, its database on node2's server) is reported, for an admin to remove.
    // (once the node's database server answers again: it restarts with the node's engine)
    const wanted = [`volume ${instance.volume_name}`, `database ${instance.db_name}`];
    let seen: unknown;
    const report = await until(
      'the orphans on node2',
      async () => {
        const found = (await call('GET', '/api/v1/reconcile')).json<{
          orphans: { kind: string; name: string; hostId: string }[];
        }>();
        seen = found;
        const left = found.orphans.filter((o) => o.hostId === 'node2').map((o) => `${o.kind} ${o.name}`);
        return wanted.every((w) => left.includes(w)) ? found : undefined;
      },
      // node2's database server starts again with its engine, after Swarm says the node is back.
      150_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; the last report: ${JSON.stringify(seen)}`);
    });
    expect(report.orphans.filter((o) => o.hostId === 'node1')).toEqual([]);
    const services = await engineOf('node1').listServices({ filters: { name: [instance.container_name] } });
    expect(services).toHaveLength(1);
    expect([(await instanceRow(instance.id)).host_id, (await instanceRow(instance.id)).status]).toEqual([
      'node1',
      'running',
    ]);
  }, 420_000);
});
