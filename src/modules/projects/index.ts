import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { OrganizationService } from '../identity/organizations.js';
import { ProjectService } from './service.js';

export { projectRoutes } from './routes.js';

export interface ProjectsModuleDeps {
  db: Db;
  audit: AuditService;
  organizations: OrganizationService;
}

export interface ProjectsModule {
  projects: ProjectService;
}

/** Projects: one customer application, its Odoo version, its instances by stage (`projectRoutes`). */
export function createProjectsModule(deps: ProjectsModuleDeps): ProjectsModule {
  return { projects: new ProjectService(deps) };
}
