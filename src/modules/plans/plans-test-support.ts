import { expect } from 'vitest';
import { as, type Browser, type TestApp } from '../../../test/helpers/app.js';
import { makeOrganization, makeProject } from '../../../test/helpers/factories.js';
import { MB } from './limits.js';

/** What the plans' tests share: plans, customers and instances through the API, usage as measured. */
export function plansWorld(t: () => TestApp, admin: () => Browser) {
  let plans = 0;
  let orgs = 0;
  const call = (...args: Parameters<ReturnType<typeof as>>) => as(t(), admin())(...args);

  async function makePlan(limits: Record<string, number | null>, extra: Record<string, unknown> = {}) {
    plans += 1;
    const made = await call('POST', '/api/v1/plans', { slug: `p-${plans}`, name: `Plan${plans}`, limits, ...extra });
    expect(made.statusCode, made.body).toBe(201);
    return made.json<{ plan: { id: string; slug: string; name: string } }>().plan;
  }

  /** An organization with a project and, when given, a subscription to `planId`. */
  async function makeCustomer(planId?: string, trial = false) {
    orgs += 1;
    const slug = `c${orgs}`;
    const organization = await makeOrganization(call, { slug });
    const project = await makeProject(call, { organization: slug, name: 'erp' });
    if (planId)
      await t()
        .db.transaction()
        .execute((trx) => t().services.subscriptions.start(trx, organization.id, planId, { trial }));
    return { organization, project };
  }

  function createInstance(
    project: string,
    name: string,
    stage: string,
    size: { cpus?: number; memoryMb?: number } = {},
  ) {
    return call('POST', '/api/v1/instances', {
      project,
      name,
      stage,
      cpus: size.cpus ?? 1,
      memoryMb: size.memoryMb ?? 768,
      adminLogin: 'o@acme.test',
    });
  }

  /**
   * An instance whose provisioning is over (on the in-memory runtime it fails at Odoo's
   * initialization: no Odoo there) and whose recovery has marked it; the test then sets its state.
   */
  async function madeInstance(
    project: string,
    name: string,
    stage: string,
    size: { cpus?: number; memoryMb?: number } = {},
  ) {
    const made = await createInstance(project, name, stage, size);
    expect(made.statusCode, made.body).toBe(202);
    const { instance, job } = made.json<{ instance: { id: string }; job: { id: string } }>();
    for (let i = 0; i < 200; i++) {
      const op = await t()
        .db.selectFrom('operations')
        .select('status')
        .where('id', '=', job.id)
        .executeTakeFirstOrThrow();
      const row = await t().services.instances.row(instance.id);
      // Over when its job ended and, when it failed, its recovery has marked the instance.
      const settled = op.status === 'succeeded' || row.status === 'failed';
      if (!['queued', 'running'].includes(op.status) && settled) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await t().db.updateTable('instances').set({ status: 'stopped' }).where('id', '=', instance.id).execute();
    return instance.id;
  }

  /** Storage as the usage meter records it: one instance's database bytes. */
  async function measured(instanceId: string, organizationId: string, bytes: number) {
    await t()
      .db.insertInto('instance_usage')
      .values({ instance_id: instanceId, organization_id: organizationId, database_bytes: bytes, filestore_bytes: 0 })
      .onConflict((oc) => oc.column('instance_id').doUpdateSet({ database_bytes: bytes, filestore_bytes: 0 }))
      .execute();
  }

  return { call, makePlan, makeCustomer, createInstance, madeInstance, measured, MB };
}
