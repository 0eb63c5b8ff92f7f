import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { paths } from '../../../src/api/schema';
import { api, call, onSessionEnded, rememberCsrfToken } from '../api/client';
import { ApiError } from '../api/errors';

export type Me = paths['/api/v1/me']['get']['responses'][200]['content']['application/json'];
type SessionStart = paths['/api/v1/auth/login']['post']['responses'][200]['content']['application/json'];

/** undefined while the first GET /me is in flight, null when nobody is signed in. */
type MeState = Me | null | undefined;

interface SessionValue {
  me: MeState;
  /** True when the session ended on its own (expiry, sign-out elsewhere), so the login page can say so. */
  expired: boolean;
  refresh(): Promise<Me | null>;
  signedIn(start: SessionStart): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

async function fetchMe(): Promise<Me | null> {
  try {
    const me = await call(api.GET('/api/v1/me'));
    rememberCsrfToken(me.csrfToken);
    return me;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<MeState>(undefined);
  const [expired, setExpired] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const signedInRef = useRef(false);
  // What one account saw must never show to the next one signing in on this tab.
  const queryClient = useQueryClient();

  useEffect(() => {
    signedInRef.current = Boolean(me);
  }, [me]);

  const refresh = useCallback(async () => {
    const next = await fetchMe();
    setMe(next);
    return next;
  }, []);

  useEffect(() => {
    refresh().catch((error: unknown) => setLoadError(error instanceof Error ? error.message : String(error)));
  }, [refresh]);

  useEffect(
    () =>
      onSessionEnded(() => {
        if (signedInRef.current) setExpired(true);
        setMe(null);
        queryClient.clear();
      }),
    [queryClient],
  );

  const signedIn = useCallback(
    async (start: SessionStart) => {
      rememberCsrfToken(start.csrfToken);
      setExpired(false);
      queryClient.clear();
      await refresh();
    },
    [refresh, queryClient],
  );

  const signOut = useCallback(async () => {
    try {
      await call(api.POST('/api/v1/auth/logout'));
    } finally {
      rememberCsrfToken(null);
      setExpired(false);
      setMe(null);
      queryClient.clear();
    }
  }, [queryClient]);

  const value = useMemo(() => ({ me, expired, refresh, signedIn, signOut }), [me, expired, refresh, signedIn, signOut]);

  if (loadError) {
    return (
      <div className="boot-error" role="alert">
        <h1>Marina is not answering</h1>
        <p>{loadError}</p>
        <button type="button" className="btn btn-primary" onClick={() => window.location.reload()}>
          Try again
        </button>
      </div>
    );
  }
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}

/** For pages behind RequireSession: the signed-in user, never null there. */
export function useMe(): Me {
  const { me } = useSession();
  if (!me) throw new Error('useMe outside a signed-in page');
  return me;
}
