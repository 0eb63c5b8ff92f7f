import { useEffect, useRef, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router-dom';
import type { paths } from '../../../../src/api/schema';
import { ApiError, errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/EmptyState';
import { tokenFromHash } from '../../hash';
import { useSession } from '../../session/SessionContext';
import { request, type Verified } from './api';
import { SignupLayout } from './SignupLayout';

type SessionStart = paths['/api/v1/auth/login']['post']['responses'][200]['content']['application/json'];

/** Spent tokens this page already sent: React's strict mode runs effects twice, a link works once. */
const sent = new Map<string, Promise<Verified>>();

function verifyOnce(token: string): Promise<Verified> {
  let pending = sent.get(token);
  if (!pending) {
    pending = request<Verified>('POST', '/signup/verify', { token });
    sent.set(token, pending);
  }
  return pending;
}

/** `/signup/verify#token=…`: the mailed link. Confirms the address, signs in, and goes to the welcome page. */
export function VerifyPage() {
  const token = tokenFromHash(useLocation().hash.replace(/^#token=/, '#'));
  const navigate = useNavigate();
  const { signedIn } = useSession();
  const [error, setError] = useState<unknown>(null);
  const started = useRef(false);

  useEffect(() => {
    if (!token || started.current) return;
    started.current = true;
    verifyOnce(token)
      .then(async (verified) => {
        await signedIn(verified as unknown as SessionStart);
        const query = new URLSearchParams({ instance: verified.instanceId, job: verified.jobId });
        navigate(`/signup/welcome?${query}#credentials=${encodeURIComponent(verified.credentialsToken)}`, {
          replace: true,
        });
      })
      .catch(setError);
  }, [token, navigate, signedIn]);

  if (!token || (error instanceof ApiError && error.code === 'MARINA_E_INVALID_TOKEN')) {
    return (
      <SignupLayout title="This link no longer works">
        <Alert kind="error">
          It was used already, replaced by a newer one, or is older than 24 hours. If you confirmed your address
          already, your account exists: sign in.
        </Alert>
        <div className="form-actions form-actions-start">
          <Link className="btn btn-primary" to="/login">
            Sign in
          </Link>
          <Link className="btn btn-secondary" to="/signup">
            Sign up again
          </Link>
        </div>
      </SignupLayout>
    );
  }
  if (error) {
    return (
      <SignupLayout title="Confirming your address failed">
        <Alert kind="error">{errorMessage(error)}</Alert>
        <p className="auth-footnote">
          Open the link from the mail again in a moment, or <Link to="/login">sign in</Link>.
        </p>
      </SignupLayout>
    );
  }
  return <Loading label="Confirming your address…" />;
}
