/**
 * A library loaded at its first use instead of at start-up: the `import()` runs once and every
 * caller awaits the same promise. For the big dependencies most servers seldom need (PDFs, Stripe,
 * ACME, OpenID Connect, mail parsing, templates): loaded, each keeps megabytes of source, compiled
 * code and data in memory for as long as Marina runs. A failed load is tried again next time.
 */
export function lazyImport<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
