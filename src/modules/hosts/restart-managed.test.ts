import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../test/helpers/app.js';
import { removeNamespace, requireDocker, startDockerMarina, testNamespace } from '../../../test/helpers/docker.js';
import { withSuperuser } from '../../adapters/postgres/admin.js';
import { connectRuntime } from '../../runtime/index.js';
import type { Runtime } from '../../runtime/port.js';

/**
 * A node that returns has its managed PostgreSQL stopped, and for a few seconds its engine refuses
 * to start it: the overlay networks the server is attached to are not known there yet (seen on a
 * real node: "network … not found", then a start that works two seconds later). The engine here is
 * the real one; only its first starts of the server are refused, the way that node refused them.
 */
const namespace = testNamespace();
let t: TestApp;
let refusals = 0;

/** The real runtime, whose `start` of a managed PostgreSQL fails while `refusals` lasts. */
function refusingStarts(runtime: Runtime): Runtime {
  return new Proxy(runtime, {
    get(target, property, receiver) {
      if (property === 'start')
        return async (name: string) => {
          if (name.includes('-postgres-') && refusals > 0) {
            refusals -= 1;
            throw new Error('(HTTP code 404) no such network - network lq8t9wdeu87d0v1hpr1698d8x not found');
          }
          return target.start(name);
        };
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

beforeAll(async () => {
  await requireDocker();
  ({ t } = await startDockerMarina(
    namespace,
    {},
    { runtime: (address, tls) => refusingStarts(connectRuntime(address, tls)) },
  ));
}, 120_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
});

describe('the managed database server of a node that returned', () => {
  it('is started again once its engine lets it, and answers', async () => {
    const server = await t.services.databaseServers.forInstances('local');
    const runtime = await t.services.hosts.reachableRuntime('local');
    await runtime.stop(server.container_name ?? '');
    expect((await runtime.state(server.container_name ?? ''))?.running).toBe(false);

    refusals = 3;
    await t.services.databaseServers.restartManaged('local', { forMs: 30_000, pauseMs: 200 });
    expect(refusals).toBe(0);
    expect((await runtime.state(server.container_name ?? ''))?.running).toBe(true);
    const connection = await t.services.databaseServers.connection(server);
    await expect(withSuperuser(connection, async (c) => (await c.query('select 1 as one')).rows)).resolves.toEqual([
      { one: 1 },
    ]);
  }, 120_000);

  it('says why when its engine never lets it start within the time given', async () => {
    const server = await t.services.databaseServers.forInstances('local');
    const runtime = await t.services.hosts.reachableRuntime('local');
    await runtime.stop(server.container_name ?? '');
    refusals = 1_000;
    await expect(t.services.databaseServers.restartManaged('local', { forMs: 1_000, pauseMs: 200 })).rejects.toThrow(
      /network .* not found/,
    );
    expect((await runtime.state(server.container_name ?? ''))?.running).toBe(false);
    refusals = 0;
    await t.services.databaseServers.restartManaged('local');
    expect((await runtime.state(server.container_name ?? ''))?.running).toBe(true);
  }, 120_000);
});
