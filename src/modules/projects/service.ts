import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Project } from '../../db/schema.js';
import { type OdooVersion, parseOdooVersion } from '../../odoo/versions.js';
import { memberOrganizations, requireAccess } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { isUuid, limits, requireLabel, requireSlug } from '../../platform/validation.js';
import type { OrganizationService } from '../identity/organizations.js';
import type { Project as ProjectSchema } from './schemas.js';

/** A project as the API answers it (the `Project` schema). */
export type ProjectView = Static<typeof ProjectSchema>;

export const projectView = (p: Project): ProjectView => ({
  id: p.id,
  organizationId: p.organization_id,
  name: p.name,
  displayName: p.display_name,
  odooVersion: p.odoo_version,
  createdAt: p.created_at.toISOString(),
});

export function requireVersion(value: unknown): OdooVersion {
  const version = parseOdooVersion(value);
  if (!version) {
    throw new MarinaError('MARINA_E_VALIDATION', 'The Odoo version must be one of 16.0, 17.0, 18.0, 19.0.', {
      field: 'odooVersion',
    });
  }
  return version;
}

export interface ProjectServiceDeps {
  db: Db;
  audit: AuditService;
  organizations: OrganizationService;
}

/** A project is one customer application: its Odoo version, later its repositories; instances run it. */
export class ProjectService {
  constructor(private readonly deps: ProjectServiceDeps) {}

  async get(actor: Actor, id: string): Promise<Project> {
    if (!isUuid(id)) throw notFound('Project');
    const project = await this.deps.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
    if (!project) throw notFound('Project');
    await requireAccess(this.deps.db, actor, project.organization_id, 'viewer', 'Project');
    return project;
  }

  async list(actor: Actor, organization?: string): Promise<ProjectView[]> {
    let q = this.deps.db.selectFrom('projects').selectAll();
    if (organization)
      q = q.where('organization_id', '=', (await this.deps.organizations.resolve(actor, organization)).id);
    if (actor.kind === 'user' && !actor.isPlatformAdmin) {
      q = q.where('organization_id', 'in', memberOrganizations(this.deps.db, actor));
    }
    const projects = (await q.orderBy('name').execute()).map(projectView);
    if (projects.length === 0) return projects;
    // One grouped count instead of every instance row: pages show how many each stage has.
    const counted = await this.deps.db
      .selectFrom('instances')
      .select(['project_id', 'stage', (eb) => eb.fn.countAll<string>().as('n')])
      .where(
        'project_id',
        'in',
        projects.map((p) => p.id),
      )
      .groupBy(['project_id', 'stage'])
      .execute();
    return projects.map((project) => {
      const counts = { production: 0, staging: 0, development: 0 };
      for (const row of counted) if (row.project_id === project.id) counts[row.stage] = Number(row.n);
      return { ...project, instanceCounts: counts };
    });
  }

  /** Organization admins and owners create projects. */
  async create(
    ctx: RequestContext,
    input: { organization: unknown; name: unknown; displayName?: unknown; odooVersion: unknown },
  ): Promise<ProjectView> {
    if (typeof input.organization !== 'string')
      throw new MarinaError('MARINA_E_VALIDATION', 'organization is required.', { field: 'organization' });
    const org = await this.deps.organizations.resolve(ctx.actor, input.organization);
    await requireAccess(this.deps.db, ctx.actor, org.id, 'admin');
    const name = requireSlug(input.name, 'name');
    const displayName =
      input.displayName === undefined || input.displayName === ''
        ? name
        : requireLabel(input.displayName, 'displayName', limits.name);
    const odooVersion = requireVersion(input.odooVersion);
    return this.deps.db.transaction().execute(async (trx) => {
      const clash = await trx
        .selectFrom('projects')
        .select('id')
        .where('organization_id', '=', org.id)
        .where('name', '=', name)
        .executeTakeFirst();
      if (clash)
        throw new MarinaError('MARINA_E_CONFLICT', `The organization already has a project named "${name}".`, {
          field: 'name',
        });
      const project = await trx
        .insertInto('projects')
        .values({ organization_id: org.id, name, display_name: displayName, odoo_version: odooVersion })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'project.create',
          organizationId: org.id,
          target: { type: 'project', id: project.id, label: name },
          details: { odooVersion },
        },
        trx,
      );
      return projectView(project);
    });
  }
}
