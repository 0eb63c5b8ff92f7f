import { type InfiniteData, infiniteQueryOptions } from '@tanstack/react-query';
import type { paths } from '../../../src/api/schema';
import { isRunning } from '../operate';
import { api, call } from './client';
import { queryKeys } from './queries';
import type { Instance } from './types';

export type InstancePage = paths['/api/v1/instances']['get']['responses'][200]['content']['application/json'];
export type InstancePages = InfiniteData<InstancePage, string>;

/**
 * Rows per request: a screenful many times over, in one quick answer (the whole list of 2,000 was
 * 1.3 MB and 1.4 s at p95; a page of 100 is about a twentieth of it).
 */
export const INSTANCE_PAGE_SIZE = 100;

/** The oldest loaded row still there (live events add new rows at the top and take deleted ones out). */
const lastLoaded = (pages: InstancePage[]): Instance | undefined =>
  pages.findLast((page) => page.instances.length > 0)?.instances.at(-1);

/**
 * The instance list a page at a time, newest first. The next page starts after the last row still
 * loaded rather than the cursor its page was answered with: that row may have been deleted since,
 * and the API refuses a cursor naming a row that is gone.
 */
export const instancePagesQuery = () =>
  infiniteQueryOptions({
    queryKey: queryKeys.instances.pages(),
    queryFn: ({ pageParam }) =>
      call(
        api.GET('/api/v1/instances', {
          params: {
            query: pageParam ? { limit: INSTANCE_PAGE_SIZE, cursor: pageParam } : { limit: INSTANCE_PAGE_SIZE },
          },
        }),
      ),
    initialPageParam: '',
    getNextPageParam: (page, pages) => (page.nextCursor ? (lastLoaded(pages)?.id ?? page.nextCursor) : undefined),
  });

/** The list's order: newest first, then by id, as the API sorts (ISO times and UUIDs sort as text). */
const newerFirst = (a: Instance, b: Instance): number =>
  b.createdAt.localeCompare(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** The first page carries the counts of the whole list: they follow what the live events say. */
function recount(pages: InstancePage[], total: number, running: number): InstancePage[] {
  const [first, ...rest] = pages;
  if (!first || first.total === null || first.running === null) return pages;
  return [
    { ...first, total: Math.max(0, first.total + total), running: Math.max(0, first.running + running) },
    ...rest,
  ];
}

/**
 * An instance changed or appeared (GET /instances/events). A loaded row is replaced where it is; an
 * unknown one is new when it sorts among the loaded rows (or every page is loaded), and goes where
 * the API would list it. One that sorts after the loaded rows is an older instance not fetched
 * yet: its page will bring it as it is then (what it did to `running` is not known until the first
 * page is fetched again).
 */
export function upsertPaged(data: InstancePages, instance: Instance): InstancePages {
  let before: Instance | undefined;
  const pages = data.pages.map((page) => {
    const index = page.instances.findIndex((row) => row.id === instance.id);
    if (index < 0) return page;
    before = page.instances[index];
    return { ...page, instances: page.instances.map((row, i) => (i === index ? instance : row)) };
  });
  if (before) return { ...data, pages: recount(pages, 0, Number(isRunning(instance)) - Number(isRunning(before))) };
  const last = lastLoaded(pages);
  const more = pages.at(-1)?.nextCursor != null;
  if (more && (!last || newerFirst(instance, last) > 0)) return data;
  let placed = false;
  const placedPages = pages.map((page) => {
    if (placed) return page;
    const index = page.instances.findIndex((row) => newerFirst(instance, row) < 0);
    if (index < 0) return page;
    placed = true;
    return { ...page, instances: [...page.instances.slice(0, index), instance, ...page.instances.slice(index)] };
  });
  const lastPage = placedPages.at(-1);
  if (!placed && lastPage)
    placedPages[placedPages.length - 1] = { ...lastPage, instances: [...lastPage.instances, instance] };
  return { ...data, pages: recount(placedPages, 1, Number(isRunning(instance))) };
}

/**
 * An instance was deleted, or the user may no longer see it. The stream names only instances the
 * user could see: one not loaded yet, while pages remain, is among those still to come.
 */
export function removePaged(data: InstancePages, id: string): InstancePages {
  let removed: Instance | undefined;
  const pages = data.pages.map((page) => {
    const index = page.instances.findIndex((row) => row.id === id);
    if (index < 0) return page;
    removed = page.instances[index];
    return { ...page, instances: page.instances.filter((row) => row.id !== id) };
  });
  if (removed) return { ...data, pages: recount(pages, -1, -Number(isRunning(removed))) };
  // Whether it ran is not known: "running" may count one too many until the list is fetched again.
  return data.pages.at(-1)?.nextCursor != null ? { ...data, pages: recount(pages, -1, 0) } : data;
}
