import type { Db } from '../../db/database.js';
import type { Project, Stage } from '../../db/schema.js';
import { stages } from '../../db/schema.js';
import { sizeLimits } from '../../odoo/sizing.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { requirePermission, requirePermissionOn } from '../../platform/permissions.js';
import { limits, normalizeEmail, requireSlug } from '../../platform/validation.js';
import type { ProjectService } from '../projects/service.js';
import { templateForNewInstance } from '../templates/apply.js';

export interface NewInstanceInput {
  project: unknown;
  name: unknown;
  stage: unknown;
  cpus?: unknown;
  memoryMb?: unknown;
  adminLogin: unknown;
  language?: unknown;
  country?: unknown;
  /** An Odoo template (src/modules/templates): its modules, demo data, language and country. */
  templateId?: unknown;
}

export interface NewInstanceFields {
  project: Project;
  name: string;
  stage: Stage;
  cpus: number;
  memoryMb: number;
  adminLogin: string;
  language: string;
  country: string | null;
  /** The sign-up template it is made from (src/modules/templates): modules, demo data, company. */
  templateId?: string | null;
  /** Its platform name's label exactly (sign-up: the subdomain the customer chose); taken → MARINA_E_NAME_TAKEN. */
  hostnameLabel?: string;
}

const LANGUAGE = /^[a-z]{2,3}(_[A-Z]{2})?(@[a-z]+)?$/;
const COUNTRY = /^[A-Z]{2}$/;
const INSTANCE_NAME_MAX = limits.instanceName;

/** Checks everything a new instance needs; nothing is written. */
export async function validateNewInstance(
  deps: { db: Db; projects: ProjectService },
  ctx: RequestContext,
  input: NewInstanceInput,
): Promise<NewInstanceFields> {
  if (typeof input.project !== 'string')
    throw new MarinaError('MARINA_E_VALIDATION', 'project is required.', { field: 'project' });
  const project = await deps.projects.get(ctx.actor, input.project);
  await requirePermissionOn(deps.db, ctx.actor, project, 'instance.operate', 'Project');
  const name = requireSlug(input.name, 'name');
  if (name.length > INSTANCE_NAME_MAX)
    throw new MarinaError('MARINA_E_VALIDATION', `An instance name has at most ${INSTANCE_NAME_MAX} characters.`, {
      field: 'name',
    });
  const stage = stages.find((s) => s === input.stage);
  if (!stage)
    throw new MarinaError('MARINA_E_VALIDATION', `The stage must be one of ${stages.join(', ')}.`, {
      field: 'stage',
    });
  // Creating a production instance needs the production role (admin).
  await requirePermission(deps.db, ctx.actor, project.organization_id, 'instance.operate', stage, 'Project');
  const { cpus, memoryMb } = requireSize({ cpus: input.cpus ?? 1, memoryMb: input.memoryMb ?? 2048 });
  const adminLogin = normalizeEmail(input.adminLogin, 'adminLogin');
  // A template gives its language and country unless the input gives its own.
  const template =
    input.templateId === undefined || input.templateId === null
      ? undefined
      : await templateForNewInstance(deps.db, ctx.actor, input.templateId, project);
  const language = input.language ?? template?.language ?? 'en_US';
  if (typeof language !== 'string' || !LANGUAGE.test(language)) {
    throw new MarinaError('MARINA_E_VALIDATION', 'language must be an Odoo language code such as en_US or fr_BE.', {
      field: 'language',
    });
  }
  const country = input.country ?? template?.country ?? null;
  if (country !== null && (typeof country !== 'string' || !COUNTRY.test(country))) {
    throw new MarinaError('MARINA_E_VALIDATION', 'country must be a two-letter ISO code such as BE.', {
      field: 'country',
    });
  }
  const clash = await deps.db
    .selectFrom('instances')
    .select('id')
    .where('project_id', '=', project.id)
    .where('name', '=', name)
    .executeTakeFirst();
  if (clash)
    throw new MarinaError('MARINA_E_CONFLICT', `The project already has an instance named "${name}".`, {
      field: 'name',
    });
  return { project, name, stage, cpus, memoryMb, adminLogin, language, country, templateId: template?.id ?? null };
}

/** The size rules of an instance (new or resized): CPUs in steps of 0.5, memory in whole MiB, within the limits. */
export function requireSize(input: { cpus?: unknown; memoryMb?: unknown }): { cpus: number; memoryMb: number } {
  const { cpus, memoryMb } = input;
  if (
    typeof cpus !== 'number' ||
    !Number.isFinite(cpus) ||
    cpus < sizeLimits.cpus.min ||
    cpus > sizeLimits.cpus.max ||
    Math.round(cpus * 2) !== cpus * 2
  )
    throw new MarinaError(
      'MARINA_E_VALIDATION',
      `cpus must be from ${sizeLimits.cpus.min} to ${sizeLimits.cpus.max}, in steps of 0.5.`,
      { field: 'cpus' },
    );
  if (
    typeof memoryMb !== 'number' ||
    !Number.isInteger(memoryMb) ||
    memoryMb < sizeLimits.memoryMb.min ||
    memoryMb > sizeLimits.memoryMb.max
  )
    throw new MarinaError(
      'MARINA_E_VALIDATION',
      `memoryMb must be a whole number from ${sizeLimits.memoryMb.min} to ${sizeLimits.memoryMb.max}.`,
      { field: 'memoryMb' },
    );
  return { cpus, memoryMb };
}
