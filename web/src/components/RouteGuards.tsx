import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { useSession } from '../session/SessionContext';
import { Loading } from './EmptyState';

export interface LoginState {
  from?: string;
  email?: string;
  notice?: string;
}

export function RequireSession({ children }: { children: ReactNode }) {
  const { me } = useSession();
  const location = useLocation();
  if (me === undefined) return <Loading label="Loading Marina…" />;
  if (me === null) {
    const state: LoginState = { from: location.pathname + location.search };
    return <Navigate to="/login" replace state={state} />;
  }
  return children;
}

/** Signed-out pages (login) send a user who is, or just got, signed in on to where they were going. */
export function RedirectIfSignedIn({ children }: { children: ReactNode }) {
  const { me } = useSession();
  const state = useLocation().state as LoginState | null;
  if (me === undefined) return <Loading label="Loading Marina…" />;
  if (me) return <Navigate to={state?.from ?? '/'} replace />;
  return children;
}
