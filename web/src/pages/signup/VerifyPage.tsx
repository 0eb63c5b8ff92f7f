import { type FormEvent, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router-dom';
import type { paths } from '../../../../src/api/schema';
import { ApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { FormError } from '../../components/FormError';
import { PasswordFields, passwordsReady } from '../../components/PasswordFields';
import { tokenFromHash } from '../../hash';
import { useSession } from '../../session/SessionContext';
import { request, type Verified } from './api';
import { SignupLayout } from './SignupLayout';

type SessionStart = paths['/api/v1/auth/login']['post']['responses'][200]['content']['application/json'];

/**
 * `/signup/verify#token=…`: the mailed link. The person chooses their password here and presses
 * the button: nothing is sent on load, so a mail scanner opening the link makes nothing, and
 * whoever asked for the address never picks its password.
 */
export function VerifyPage() {
  const token = tokenFromHash(useLocation().hash.replace(/^#token=/, '#'));
  const navigate = useNavigate();
  const { signedIn } = useSession();
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!token) return;
    setBusy(true);
    setError(null);
    try {
      const verified = await request<Verified>('POST', '/signup/verify', { token, password });
      await signedIn(verified as unknown as SessionStart);
      const query = new URLSearchParams({ instance: verified.instanceId, job: verified.jobId });
      navigate(`/signup/welcome?${query}#credentials=${encodeURIComponent(verified.credentialsToken)}`, {
        replace: true,
      });
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

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
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return (
    <SignupLayout
      title="Choose your password"
      subtitle="Your address is confirmed with this link. Choose the password you will sign in with, then we create your account and start your Odoo."
    >
      <FormError error={error} fields={['password']} />
      <form className="form" onSubmit={(event) => void submit(event)} noValidate>
        <PasswordFields
          password={password}
          confirm={confirm}
          onPassword={setPassword}
          onConfirm={setConfirm}
          error={fieldErrors.password}
        />
        <button
          type="submit"
          className="btn btn-primary btn-block"
          disabled={busy || !passwordsReady(password, confirm)}
        >
          {busy ? 'Creating your account…' : 'Create my account'}
        </button>
      </form>
      <p className="auth-footnote">
        Have an account already? <Link to="/login">Sign in</Link>
      </p>
    </SignupLayout>
  );
}
