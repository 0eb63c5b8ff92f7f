import type pg from 'pg';
import type { Db } from '../../db/database.js';
import type { Instance, Project } from '../../db/schema.js';
import type { Actor } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { invalid, isUuid } from '../../platform/validation.js';
import type { OdooTemplateRow } from './service.js';

/**
 * The template a new instance is asked with: usable (public, not archived) for anyone, any for a
 * platform admin; made for the project's Odoo version. A template nobody may see answers as
 * missing, so its existence is not told.
 */
export async function templateForNewInstance(
  db: Db,
  actor: Actor,
  templateId: unknown,
  project: Pick<Project, 'odoo_version' | 'name'>,
): Promise<OdooTemplateRow> {
  if (typeof templateId !== 'string' || !isUuid(templateId))
    throw invalid('templateId', 'templateId must be the id of an Odoo template.');
  const admin = actor.kind === 'system' || (actor.isPlatformAdmin && !actor.organizationId);
  let q = db.selectFrom('odoo_templates').selectAll().where('id', '=', templateId);
  if (!admin) q = q.where('public', '=', true).where('archived_at', 'is', null);
  const template = await q.executeTakeFirst();
  if (!template) throw notFound('Odoo template');
  if (template.odoo_version !== project.odoo_version)
    throw new MarinaError(
      'MARINA_E_VALIDATION',
      `The template "${template.name}" is made for Odoo ${template.odoo_version}; the project ${project.name} runs Odoo ${project.odoo_version}.`,
      { field: 'templateId', templateVersion: template.odoo_version, projectVersion: project.odoo_version },
    );
  return template;
}

/** What the provisioning job applies: the template an instance was made with, archived or not. */
export interface InstanceTemplate {
  modules: string[];
  demo: boolean;
  companyNameFromOrg: boolean;
  /** The organization's display name, for the company when `companyNameFromOrg`. */
  organizationName: string;
}

export async function instanceTemplate(
  db: Db,
  instance: Pick<Instance, 'template_id' | 'organization_id'>,
): Promise<InstanceTemplate | undefined> {
  if (!instance.template_id) return undefined;
  const row = await db
    .selectFrom('odoo_templates')
    .innerJoin('organizations', (join) => join.on('organizations.id', '=', instance.organization_id))
    .select([
      'odoo_templates.modules',
      'odoo_templates.demo',
      'odoo_templates.company_name_from_org',
      'organizations.name as organization_name',
    ])
    .where('odoo_templates.id', '=', instance.template_id)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    modules: row.modules,
    demo: row.demo,
    companyNameFromOrg: row.company_name_from_org,
    organizationName: row.organization_name,
  };
}

/**
 * A template's part of personalizing a new database (instances/jobs.ts), on the instance's own
 * role inside personalize's transaction: the main company named after the organization, and no
 * demo user left with the password Odoo's source gives it.
 */
export async function applyTemplate(
  db: Pick<pg.Client, 'query'>,
  template: InstanceTemplate,
  adminPartnerId: number | undefined,
): Promise<void> {
  if (template.companyNameFromOrg) {
    // res_company.name is stored from its partner's name: both are written, as Odoo's inverse does.
    const main = await db.query<{ id: number; partner_id: number }>(
      `SELECT c.id, c.partner_id FROM res_company c
         JOIN ir_model_data d ON d.res_id = c.id AND d.model = 'res.company' AND d.module = 'base' AND d.name = 'main_company'`,
    );
    const company = main.rows[0];
    if (company) {
      await db.query('UPDATE res_company SET name = $1 WHERE id = $2', [template.organizationName, company.id]);
      await db.query('UPDATE res_partner SET name = $1, complete_name = $1 WHERE id = $2', [
        template.organizationName,
        company.partner_id,
      ]);
    }
  }
  if (template.demo) {
    // Demo data brings users whose passwords are in Odoo's source; only the handed-over admin signs in.
    await db.query(
      'UPDATE res_users SET password = NULL WHERE partner_id IS DISTINCT FROM $1 AND password IS NOT NULL',
      [adminPartnerId],
    );
  }
}
