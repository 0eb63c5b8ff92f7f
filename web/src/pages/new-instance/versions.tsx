import { queryOptions, useQuery } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';

export type OdooVersionAvailability =
  paths['/api/v1/odoo-versions']['get']['responses'][200]['content']['application/json']['versions'][number];

/** The Odoo versions and whether each can run on the host (asked again on each visit: an image may appear). */
export const odooVersionsQuery = () =>
  queryOptions({
    queryKey: ['odoo-versions'] as const,
    queryFn: async () => (await call(api.GET('/api/v1/odoo-versions'))).versions,
    staleTime: 0,
  });

export function useOdooVersions() {
  return useQuery(odooVersionsQuery());
}

const major = (version: string) => Number.parseFloat(version);

/** Newest first; the form's default is the newest that can run. */
export function newestFirst(versions: OdooVersionAvailability[]): OdooVersionAvailability[] {
  return [...versions].sort((a, b) => major(b.version) - major(a.version));
}

export function newestAvailable(versions: OdooVersionAvailability[]): string {
  return newestFirst(versions).find((v) => v.available)?.version ?? '';
}
