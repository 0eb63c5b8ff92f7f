import { useLocation } from 'react-router-dom';
import { impersonatedOrganization } from '../session/permissions';
import type { Me } from '../session/SessionContext';

export type MyOrganization = Me['organizations'][number];

const REMEMBERED = 'marina.portal.organization';

/** The organization the user last chose in the switcher (this browser only). */
export function rememberOrganization(slug: string): void {
  try {
    window.localStorage.setItem(REMEMBERED, slug);
  } catch {
    // Private windows may refuse storage: the switcher still works for this page.
  }
}

function remembered(): string | null {
  try {
    return window.localStorage.getItem(REMEMBERED);
  } catch {
    return null;
  }
}

/**
 * The organization the portal's sidebar is about: the one a support session is opened as; else the
 * one the address names (`/organizations/:slug…`), else the one last chosen, else the first.
 */
export function useCurrentOrganization(me: Me): MyOrganization | null {
  const { pathname } = useLocation();
  const viewed = impersonatedOrganization(me);
  if (me.impersonating) return viewed;
  const inAddress = /^\/organizations\/([^/]+)/.exec(pathname)?.[1];
  const bySlug = (slug: string | null | undefined) => me.organizations.find((o) => o.slug === slug);
  return bySlug(inAddress) ?? bySlug(remembered()) ?? me.organizations[0] ?? null;
}
