import type { Db } from '../../db/database.js';
import type { Instance } from '../../db/schema.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { planJob } from '../../platform/jobs/define.js';
import type { OperationView } from '../../platform/jobs/operations.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import type { InstanceService, InstanceView, NewInstanceFields, NewInstanceInput } from '../instances/service.js';
import { type CloneInput, cloneJob, type RestoreInput, restoreJob } from './jobs/specs.js';

/** A target for a restore, clone or import: an existing instance, or a new one to make. */
export interface FillTarget {
  instanceId?: unknown;
  newInstance?: unknown;
  neutralize?: unknown;
  confirm?: unknown;
}

export function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean')
    throw new MarinaError('MARINA_E_VALIDATION', `${field} must be true or false.`, { field });
  return value;
}

/** Where a restore, clone or import goes, once checked. */
export interface ResolvedTarget {
  existing?: Instance;
  fresh?: NewInstanceFields;
}

/** What a restore or clone job into a target is. */
/** A restore reads a backup, a clone a live instance; the job's plan follows from what is decided here. */
export type FillJob = (
  | { kind: 'backup.restore'; input: Pick<RestoreInput, 'backupId'> }
  | { kind: 'instance.clone'; input: Pick<CloneInput, 'sourceId' | 'filestore'> }
) & {
  copy: boolean;
  defer?: boolean /** An import is a restore of the uploaded file, audited as such. */;
  import?: boolean;
};

export interface FillTargetsDeps {
  db: Db;
  instances: InstanceService;
}

/** What the audit trail calls filling an instance: from another instance, a backup, or an upload. */
const fillAction = (job: FillJob) =>
  job.kind === 'instance.clone' ? 'instance.clone' : job.import ? 'instance.import' : 'instance.restore';

/** The choice of the instance a restore, clone or import fills, and the job that fills it. */
export class FillTargets {
  constructor(private readonly deps: FillTargetsDeps) {}

  /**
   * Resolves where a restore, clone or import goes: an existing instance of the same organization
   * and Odoo version (production needs its name typed in `confirm`), or a new instance to create.
   */
  async resolve(
    ctx: RequestContext,
    organizationId: string,
    odooVersion: string,
    input: FillTarget,
    defaultInstanceId: string | null,
  ): Promise<ResolvedTarget> {
    if (input.newInstance !== undefined) {
      if (input.instanceId !== undefined)
        throw new MarinaError('MARINA_E_VALIDATION', 'Give either instanceId or newInstance, not both.', {
          field: 'instanceId',
        });
      if (typeof input.newInstance !== 'object' || input.newInstance === null)
        throw new MarinaError('MARINA_E_VALIDATION', 'newInstance must be an object.', { field: 'newInstance' });
      const fields = await this.deps.instances.validateNew(ctx, input.newInstance as NewInstanceInput);
      if (fields.project.organization_id !== organizationId)
        throw new MarinaError('MARINA_E_VALIDATION', 'The new instance must belong to the same organization.', {
          field: 'newInstance.project',
        });
      if (fields.project.odoo_version !== odooVersion)
        throw new MarinaError(
          'MARINA_E_VALIDATION',
          `This data is Odoo ${odooVersion}; the project runs Odoo ${fields.project.odoo_version}.`,
          { field: 'newInstance.project' },
        );
      return { fresh: fields };
    }
    const targetId = input.instanceId ?? defaultInstanceId;
    if (typeof targetId !== 'string')
      throw new MarinaError('MARINA_E_VALIDATION', 'Say where to restore: instanceId or newInstance.', {
        field: 'instanceId',
      });
    const existing = await this.deps.instances.get(ctx.actor, targetId);
    await requirePermissionOn(this.deps.db, ctx.actor, existing, 'backup.manage');
    if (existing.organization_id !== organizationId) throw notFound('Instance');
    if (existing.odoo_version !== odooVersion)
      throw new MarinaError(
        'MARINA_E_VALIDATION',
        `This data is Odoo ${odooVersion}; the instance runs Odoo ${existing.odoo_version}.`,
        { field: 'instanceId' },
      );
    if (existing.status === 'failed' || existing.status === 'provisioning')
      throw new MarinaError(
        existing.status === 'failed' ? 'MARINA_E_INSTANCE_FAILED' : 'MARINA_E_INSTANCE_BUSY',
        `The instance is ${existing.status}.`,
      );
    this.deps.instances.requireConfirmation(existing, input.confirm);
    await this.deps.instances.requireIdle(existing);
    return { existing };
  }

  /** Submits a restore or clone job into the resolved target. */
  async submit(
    ctx: RequestContext,
    target: ResolvedTarget,
    job: FillJob,
    neutralizeInput: unknown,
    clonedFrom: string | null,
    details: Record<string, unknown>,
  ): Promise<{ job: OperationView; instance: InstanceView; credentials?: unknown }> {
    const stage = target.existing?.stage ?? target.fresh?.stage ?? 'production';
    const neutralize = job.copy && (optionalBoolean(neutralizeInput, 'neutralize') ?? stage !== 'production');
    const choices = { existing: Boolean(target.existing), copy: job.copy, neutralize };
    const planned =
      job.kind === 'backup.restore'
        ? planJob(restoreJob, { ...job.input, ...choices })
        : planJob(cloneJob, { ...job.input, ...choices });
    if (target.fresh) {
      const created = await this.deps.instances.insertNew(
        ctx,
        target.fresh,
        { planned, defer: job.defer, action: fillAction(job) },
        clonedFrom,
      );
      return { job: created.job, instance: created.instance };
    }
    const existing = target.existing as Instance;
    // Restoring over an instance adds no instance and is not refused by full storage (nothing is
    // lost), but a suspended organization starts nothing.
    await this.deps.instances.quotas.requireOperational(this.deps.db, existing.organization_id, 'restore backups');
    const op = await this.deps.instances.submit(ctx, existing, planned, fillAction(job), {
      details,
      defer: job.defer,
    });
    // It keeps serving (and its status) while the new data loads: the job says "restoring" at its stop.
    return { job: op, instance: this.deps.instances.view(await this.deps.instances.row(existing.id)) };
  }
}
