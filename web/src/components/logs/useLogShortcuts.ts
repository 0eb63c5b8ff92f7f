import { type RefObject, useEffect, useRef } from 'react';

/** What the keys R, S, P, A, C, ? and Escape do; read when the key is pressed, so always current. */
export interface LogShortcutActions {
  refresh(): void;
  toggleStream(): void;
  togglePause(): void;
  toggleAutoScroll(): void;
  clear(): void;
  toggleHelp(): void;
  closeHelp(): void;
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable;
}

/**
 * The viewer's single-key shortcuts: anywhere on the page for `page`, only while focus is inside
 * `root` for `embedded`; never while typing in a field (Escape there leaves the search box).
 */
export function useLogShortcuts({
  variant,
  rootRef,
  searchRef,
  actions,
}: {
  variant: 'page' | 'embedded';
  rootRef: RefObject<HTMLElement | null>;
  searchRef: RefObject<HTMLInputElement | null>;
  actions: LogShortcutActions;
}): void {
  // The listener stays registered; the actions it calls are the latest render's.
  const latest = useRef(actions);
  latest.current = actions;

  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      if (isTyping(event.target)) {
        if (event.key === 'Escape' && event.target === searchRef.current) searchRef.current?.blur();
        return;
      }
      if (variant === 'embedded' && !rootRef.current?.contains(document.activeElement)) return;
      const a = latest.current;
      switch (event.key.toLowerCase()) {
        case 'r':
          a.refresh();
          break;
        case 's':
          a.toggleStream();
          break;
        case 'p':
          a.togglePause();
          break;
        case 'a':
          a.toggleAutoScroll();
          break;
        case 'c':
          a.clear();
          break;
        case '/':
          searchRef.current?.focus();
          searchRef.current?.select();
          break;
        case '?':
          a.toggleHelp();
          break;
        case 'escape':
          a.closeHelp();
          return;
        default:
          return;
      }
      event.preventDefault();
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [variant, rootRef, searchRef]);
}
