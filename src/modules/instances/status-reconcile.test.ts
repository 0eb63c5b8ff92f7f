import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceRow, sleepingContainer } from '../../../bench/scale-seed.js';
import type { TestApp } from '../../../test/helpers/app.js';
import {
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import type { Instance, InstanceStatus } from '../../db/schema.js';
import { SecretBox } from '../../platform/secrets/secret-box.js';
import { healthInStatus } from '../../runtime/docker/engine.js';
import { LOCAL_HOST_ID } from '../hosts/hosts.js';
import { instanceLabels } from './odoo-container.js';
import { listingAgrees } from './status.js';

/**
 * Catching up with Docker when the event stream (re)connects: one listing of the host's containers,
 * and an inspection only where the listing and the record disagree — against the real engine.
 */
const namespace = testNamespace();
let t: TestApp;
const box = SecretBox.fromPassphrase('status reconcile test key');

beforeAll(async () => {
  await requireDocker();
  ({ t } = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin }));
}, 120_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
});

async function seedInstance(name: string, status: InstanceStatus, container: 'running' | 'created' | 'none') {
  const project = await t.db
    .insertInto('projects')
    .values({ organization_id: (await org()).id, name, display_name: name, odoo_version: '17.0' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const values = instanceRow(box, namespace, {
    organizationId: (await org()).id,
    projectId: project.id,
    name,
    status,
    httpPort: null,
  });
  // The container comes first, the record after: only the reconciling can bring them together.
  if (container !== 'none') {
    const labels = instanceLabels(namespace, { ...values, created_at: new Date() } as unknown as Instance);
    await sleepingContainer(values.container_name, labels, container === 'running');
  }
  return t.db.insertInto('instances').values(values).returningAll().executeTakeFirstOrThrow();
}

async function org() {
  return t.db
    .insertInto('organizations')
    .values({ slug: 'reconcile', name: 'Reconcile' })
    .onConflict((oc) => oc.column('slug').doUpdateSet({ name: 'Reconcile' }))
    .returning('id')
    .executeTakeFirstOrThrow();
}

const statusOf = async (instance: Instance) =>
  (await t.db.selectFrom('instances').select('status').where('id', '=', instance.id).executeTakeFirstOrThrow()).status;

describe('reconciling status with one listing', () => {
  it('reads health from a listing’s status text', () => {
    expect(healthInStatus('Up 3 minutes (healthy)')).toBe('healthy');
    expect(healthInStatus('Up 5 seconds (health: starting)')).toBe('starting');
    expect(healthInStatus('Up 2 hours (unhealthy)')).toBe('unhealthy');
    expect(healthInStatus('Up 2 hours')).toBeNull();
    expect(healthInStatus('Exited (137) 4 minutes ago')).toBeNull();
  });

  it('fixes what changed while Marina was away, and inspects only those containers', async () => {
    // Away indeed: no events followed (on a busy machine Docker's events arrive late and would
    // fix some records before the reconciling sees them).
    await t.services.status.stop();
    const agreeing = await seedInstance('agree', 'running', 'running');
    const stoppedAgreeing = await seedInstance('stopped', 'stopped', 'created');
    const startedBehindItsBack = await seedInstance('behind', 'stopped', 'running');
    const diedBehindItsBack = await seedInstance('died', 'running', 'created');
    const gone = await seedInstance('gone', 'running', 'none');
    const inspected = await t.services.status.reconcile(LOCAL_HOST_ID);
    expect(inspected).toContain(startedBehindItsBack.container_name);
    expect(inspected).toContain(diedBehindItsBack.container_name);
    expect(inspected).not.toContain(agreeing.container_name);
    expect(inspected).not.toContain(stoppedAgreeing.container_name);
    expect(inspected).not.toContain(gone.container_name);
    expect(await statusOf(agreeing)).toBe('running');
    expect(await statusOf(stoppedAgreeing)).toBe('stopped');
    expect(await statusOf(startedBehindItsBack)).toBe('running');
    expect(await statusOf(diedBehindItsBack)).toBe('exited');
    expect(await statusOf(gone)).toBe('missing');
  }, 60_000);

  it('takes a listing as agreeing only when running, health and status match', () => {
    const seen = (running: boolean, health: string | null, restarting = false) => ({
      id: 'c',
      name: 'c',
      status: running ? 'running' : 'exited',
      running,
      restarting,
      exitCode: 0,
      startedAt: null,
      health,
      labels: {},
    });
    expect(listingAgrees({ status: 'running', health: 'healthy' }, seen(true, 'healthy'))).toBe(true);
    expect(listingAgrees({ status: 'running', health: 'healthy' }, seen(true, 'unhealthy'))).toBe(false);
    expect(listingAgrees({ status: 'unhealthy', health: 'unhealthy' }, seen(true, 'unhealthy'))).toBe(true);
    expect(listingAgrees({ status: 'exited', health: null }, seen(false, null))).toBe(true);
    expect(listingAgrees({ status: 'running', health: null }, seen(false, null))).toBe(false);
    expect(listingAgrees({ status: 'running', health: null }, seen(false, null, true))).toBe(false);
  });
});
