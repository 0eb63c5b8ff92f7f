import { QueryClient } from '@tanstack/react-query';

/**
 * The one cache of server answers. No automatic retry: a page shows Marina's error at once, as it
 * did before the cache, and the user (or the next refetch on focus) tries again.
 */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: false, refetchOnWindowFocus: true },
      mutations: { retry: false },
    },
  });
}
