import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import { TemplateService } from './service.js';

export { instanceTemplate, templateForNewInstance } from './apply.js';
export { templateRoutes } from './routes.js';
export type { OdooTemplateRow, PublicOdooTemplateView } from './service.js';
export { TemplateService };

export interface TemplatesModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
}

export interface TemplatesModule {
  /** Odoo templates: the admins' CRUD, and `publicList()` / `usable(id)` for sign-up. */
  templates: TemplateService;
}

export function createTemplatesModule(deps: TemplatesModuleDeps): TemplatesModule {
  return { templates: new TemplateService(deps) };
}
