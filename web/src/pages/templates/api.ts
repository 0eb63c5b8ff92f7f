import { queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';

/* The Odoo templates API, typed from the generated OpenAPI schema. */

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type BodyOf<T> = T extends { requestBody?: { content: { 'application/json': infer Body } } } ? Body : never;

export type OdooTemplate = Json<paths['/api/v1/odoo-templates']['get']['responses'][200]>['templates'][number];
export type UsableTemplate = Json<paths['/api/v1/odoo-templates/usable']['get']['responses'][200]>['templates'][number];
export type NewOdooTemplate = BodyOf<paths['/api/v1/odoo-templates']['post']>;

export const templateKeys = {
  all: ['odoo-templates'] as const,
  usable: ['odoo-templates', 'usable'] as const,
};

export const templatesQuery = () =>
  queryOptions({
    queryKey: templateKeys.all,
    queryFn: async () => (await call(api.GET('/api/v1/odoo-templates'))).templates,
  });

export const usableTemplatesQuery = () =>
  queryOptions({
    queryKey: templateKeys.usable,
    queryFn: async () => (await call(api.GET('/api/v1/odoo-templates/usable'))).templates,
  });
