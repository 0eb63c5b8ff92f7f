import { expect } from 'vitest';
import type { TestApp } from './helpers/app.js';
import { type Call, makeProject, type Project } from './helpers/factories.js';

/**
 * Shared by forms-truth.test.ts and e2e/forms-truth.test.ts: an Odoo 17 instance that another job
 * (a restore) holds, so that adding a repository to its project cannot check it out now.
 * Made through the API with the in-memory runtime stand-in, which cannot finish provisioning: the
 * instance is marked as made, as a finished one would be, and the holding job is written directly.
 */
export async function instanceHeldByAJob(
  t: TestApp,
  api: Call,
  names: { project: string; instance: string },
): Promise<{ project: Project; instanceId: string; holdingJobId: string }> {
  const project = await makeProject(api, { name: names.project, odooVersion: '17.0' });
  const created = await api('POST', '/api/v1/instances', {
    project: project.id,
    name: names.instance,
    stage: 'development',
    adminLogin: 'a@acme.test',
  });
  expect(created.statusCode, created.body).toBe(202);
  const instanceId = created.json<{ instance: { id: string } }>().instance.id;
  // The stand-in runtime ends provisioning quickly (no database server here): wait for it.
  await expect
    .poll(
      async () =>
        (
          await t.db
            .selectFrom('operations')
            .select('id')
            .where('target_id', '=', instanceId)
            .where('status', 'in', ['queued', 'running'])
            .execute()
        ).length,
      { timeout: 20_000 },
    )
    .toBe(0);
  // …and until the instance records that outcome (written just after the job's own status).
  await expect
    .poll(
      async () =>
        (await t.db.selectFrom('instances').select('status').where('id', '=', instanceId).executeTakeFirst())?.status,
      { timeout: 20_000 },
    )
    .toBe('failed');
  await t.db.updateTable('instances').set({ status: 'stopped' }).where('id', '=', instanceId).execute();
  // Another job holds the instance (a restore, say) when the repository is added.
  const holding = await t.db
    .insertInto('operations')
    .values({
      kind: 'backup.restore',
      organization_id: project.organizationId,
      host_id: 'local',
      target_type: 'instance',
      target_id: instanceId,
      target_label: `acme/${names.project}/${names.instance}`,
      status: 'running',
      steps: JSON.stringify([]),
      input: JSON.stringify({}),
      result: null,
      error: null,
      actor_id: null,
      actor_label: 'test',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { project, instanceId, holdingJobId: holding.id };
}
