import { useEffect, useRef, useState } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router-dom';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';
import { ApiError, errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { AuthLayout } from '../../components/AuthLayout';
import { CopyField } from '../../components/CopyField';
import { Loading } from '../../components/EmptyState';
import { ExternalIcon } from '../../components/icons';
import type { LoginState } from '../../components/RouteGuards';
import { useSession } from '../../session/SessionContext';
import '../../styles/credentials-link.css';

type Opened = paths['/api/v1/credential-links/open']['post']['responses'][200]['content']['application/json'];

/** Opens in flight: a link opens once, and React's strict mode runs effects twice. */
const openings = new Map<string, Promise<Opened>>();

function openOnce(token: string): Promise<Opened> {
  let pending = openings.get(token);
  if (!pending) {
    pending = call(api.POST('/api/v1/credential-links/open', { body: { token } }));
    openings.set(token, pending);
    // Settled, it is forgotten: the same link followed again asks Marina again (and is refused).
    const forget = () => openings.delete(token);
    pending.then(forget, forget);
  }
  return pending;
}

const tokenOf = (hash: string): string | null => new URLSearchParams(hash.replace(/^#/, '')).get('token') || null;

/**
 * `/credentials#token=…`: the page a credentials link (mail `welcome`, `send_access`) opens. The link
 * is for one user: signed out, it goes to the sign-in page and comes back here; then it opens the
 * link once and shows the instance's address, login and password, which it will not show again.
 */
export function CredentialsLinkPage() {
  const { me, signOut } = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  const fromHash = tokenOf(location.hash);
  // The link being opened, kept once its token left the address bar; each visit of a link (a new
  // navigation) is a new attempt.
  const [attempt, setAttempt] = useState(() => (fromHash ? { token: fromHash, key: location.key } : null));
  useEffect(() => {
    if (fromHash) setAttempt((now) => (now?.key === location.key ? now : { token: fromHash, key: location.key }));
  }, [fromHash, location.key]);
  if (me === undefined) return <Loading label="Loading Marina…" />;
  if (me === null) {
    // The hash comes back with the user: the sign-in page sends them on to `from` as it is.
    const state: LoginState = {
      from: `/credentials${location.hash}`,
      notice: 'Sign in with the account the link was sent to, to see the credentials.',
    };
    return <Navigate to="/login" replace state={state} />;
  }
  return (
    <AuthLayout title="Instance credentials" subtitle={`Signed in as ${me.user.email}.`}>
      {attempt ? (
        <OpenedLink
          key={attempt.key}
          token={attempt.token}
          onSignOut={signOut}
          // The link is spent: it leaves the address bar and the history.
          onOpened={() => navigate('/credentials', { replace: true })}
        />
      ) : (
        <Refused reason="This link is incomplete: open it from the mail again, whole." />
      )}
    </AuthLayout>
  );
}

function OpenedLink({ token, onSignOut, onOpened }: { token: string; onSignOut(): Promise<void>; onOpened(): void }) {
  const [opened, setOpened] = useState<Opened | null>(null);
  const [error, setError] = useState<unknown>(null);
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    openOnce(token)
      .then((answer) => {
        setOpened(answer);
        onOpened();
      })
      .catch(setError);
  }, [token, onOpened]);

  if (error instanceof ApiError && error.code === 'MARINA_E_INVALID_TOKEN')
    return <Refused reason="This link was already used or has expired." onSignOut={onSignOut} />;
  if (error) return <Alert kind="error">{errorMessage(error)}</Alert>;
  if (!opened) return <Loading label="Opening the link…" />;
  const { instance } = opened;
  return (
    <section className="credentials-link" aria-label="Credentials" data-testid="credentials-link-opened">
      <Alert kind="warning" title="Shown once">
        Copy the password now and keep it somewhere safe: this page will not show it again, and the link no longer
        works.
      </Alert>
      <span className="stat-label">Instance</span>
      <p className="credentials-link-instance">
        <strong>{instance.name}</strong>
        {instance.url ? (
          <a className="external-link" href={instance.url} target="_blank" rel="noreferrer">
            Open Odoo
            <ExternalIcon width={12} height={12} />
          </a>
        ) : null}
      </p>
      {instance.url ? (
        <>
          <span className="stat-label">Address</span>
          <CopyField label="Instance address" value={instance.url} />
        </>
      ) : null}
      <span className="stat-label">Administrator login</span>
      <CopyField label="Administrator login" value={opened.login} />
      <span className="stat-label">Administrator password</span>
      {opened.password !== null ? (
        <CopyField label="Administrator password" value={opened.password} />
      ) : (
        <Alert kind="info">
          Marina does not know this instance’s password (its users were copied from elsewhere). An administrator of the
          organization can reset it from the instance page.
        </Alert>
      )}
      <div className="form-actions form-actions-start">
        <Link className="btn btn-primary" to={`/instances/${instance.id}`}>
          Go to the instance page
        </Link>
      </div>
    </section>
  );
}

function Refused({ reason, onSignOut }: { reason: string; onSignOut?: () => Promise<void> }) {
  return (
    <div className="credentials-link" data-testid="credentials-link-refused">
      <Alert kind="error" title={reason}>
        A link shows the credentials once, for 7 days, to the account it was sent to. Ask an administrator of your
        organization to send access again, or to reveal the credentials on the instance page.
      </Alert>
      <div className="form-actions form-actions-start">
        <Link className="btn btn-primary" to="/instances">
          Go to your instances
        </Link>
        {onSignOut ? (
          <button type="button" className="btn btn-secondary" onClick={() => void onSignOut()}>
            Sign in with another account
          </button>
        ) : null}
      </div>
    </div>
  );
}
