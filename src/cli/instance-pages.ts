import { ApiError, type MarinaClient } from './api/client.js';
import type { Json } from './api/types.js';

type InstanceList = Json<'/api/v1/instances', 'get'>;
export type ListedInstance = InstanceList['instances'][number];

/** Rows per request: a first line shows quickly, and 2,000 instances take ten round trips. */
export const INSTANCE_PAGE_SIZE = 200;

export interface InstancePage {
  rows: ListedInstance[];
  /** How many instances there are in all (the first page says; null after). */
  total: number | null;
  /** Whether the API has more after this page (beyond `limit`, when one was given). */
  more: boolean;
}

/**
 * The instances `marina instances ls` lists, newest first, a page at a time: never the whole list
 * in one answer, so the first rows print while the rest are on their way. Stops after `limit` rows.
 */
export async function* instancePages(
  c: MarinaClient,
  options: { project?: string; limit?: number; pageSize?: number } = {},
): AsyncGenerator<InstancePage> {
  const pageSize = options.pageSize ?? INSTANCE_PAGE_SIZE;
  let left = options.limit ?? Number.POSITIVE_INFINITY;
  let previous: ListedInstance[] = [];
  let cursor: string | undefined;
  while (left > 0) {
    const query = { project: options.project, limit: Math.min(pageSize, left), cursor };
    let page: InstanceList;
    try {
      page = await c.call(c.api.GET('/api/v1/instances', { params: { query } }));
    } catch (error) {
      // The row the cursor names was deleted meanwhile: the page goes on after the row before it,
      // which leaves out nothing but the deleted rows (each refused cursor is one of them).
      const earlier = cursorRefused(error) ? previous.findLastIndex((row) => row.id === cursor) - 1 : -1;
      const before = previous[earlier];
      if (!before) throw error;
      cursor = before.id;
      continue;
    }
    left -= page.instances.length;
    yield { rows: page.instances, total: page.total, more: page.nextCursor !== null };
    if (!page.nextCursor) return;
    previous = page.instances;
    cursor = page.nextCursor;
  }
}

const cursorRefused = (error: unknown): boolean =>
  error instanceof ApiError && error.status === 400 && error.details.field === 'cursor';
