/** Who is acting, as every service sees it. Routes build it; services never trust anything else. */
export interface UserActor {
  kind: 'user';
  userId: string;
  email: string;
  isPlatformAdmin: boolean;
  via: 'session' | 'token';
  sessionId?: string;
  tokenId?: string;
  /** A read-only API token: it may read and change nothing. */
  readOnly?: boolean;
  /** A metrics token: it may scrape GET /metrics and nothing else (it is read-only too). */
  metricsOnly?: boolean;
  /** An API token limited to this organization: everything else is out of its reach. */
  organizationId?: string;
  /** A platform admin's read-only session opened as `organizationId` (support); their user id. */
  impersonatedBy?: string;
}

/** Marina itself or an operator at the server's console (`marina admin create`). */
export interface SystemActor {
  kind: 'system';
  label: string;
}

export type Actor = UserActor | SystemActor;

export interface RequestContext {
  actor: Actor;
  ip: string | null;
}

export interface AnonymousContext {
  actor: null;
  ip: string | null;
}

export const systemContext = (label: string): RequestContext => ({ actor: { kind: 'system', label }, ip: null });
