/**
 * Typed hooks between modules: a module that must react to another's event ("before an instance
 * is deleted") or answer its question ("the mounts of an instance") registers a handler here,
 * instead of being patched into the other module's dependencies after construction. The module
 * that calls a hook declares its signature; it never imports the modules that answer it, so the
 * modules stay acyclic however they react to each other.
 */

// biome-ignore lint/suspicious/noExplicitAny: a hook's arguments are whatever its declaring module says.
type HookSignature = (...args: any[]) => Promise<unknown>;

/** Hook names to signatures, declared by the module that calls them (e.g. `InstanceHooks`). */
export type HookSpec<Spec> = { [K in keyof Spec]: HookSignature };

export class Hooks<Spec extends HookSpec<Spec>> {
  private readonly handlers = new Map<PropertyKey, HookSignature[]>();

  /** Adds a handler; handlers run in the order they were added (the order the app wires modules). */
  on<K extends keyof Spec>(name: K, handler: Spec[K]): void {
    const list = this.handlers.get(name) ?? [];
    list.push(handler);
    this.handlers.set(name, list);
  }

  /** Runs every handler of a hook one after the other; answers their results in that order. */
  async run<K extends keyof Spec>(name: K, ...args: Parameters<Spec[K]>): Promise<Awaited<ReturnType<Spec[K]>>[]> {
    const results: Awaited<ReturnType<Spec[K]>>[] = [];
    for (const handler of this.handlers.get(name) ?? []) {
      results.push((await handler(...args)) as Awaited<ReturnType<Spec[K]>>);
    }
    return results;
  }
}
