import { type FormEvent, useEffect, useState } from 'react';
import { Link, useLocation } from 'react-router-dom';
import { api, call } from '../api/client';
import { ApiError } from '../api/errors';
import { Alert } from '../components/Alert';
import { AuthLayout } from '../components/AuthLayout';
import { FormError } from '../components/FormError';
import { EmailField } from '../components/FormFields';
import { PasswordField } from '../components/PasswordFields';
import type { LoginState } from '../components/RouteGuards';
import { useSession } from '../session/SessionContext';
import { LoginProviderError, LoginProviders } from './oidc/LoginProviders';
import { CreateAccountLink } from './signup/CreateAccountLink';

export function LoginPage() {
  const { signedIn, expired } = useSession();
  const state = useLocation().state as LoginState | null;
  const [email, setEmail] = useState(state?.email ?? '');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [setupNeeded, setSetupNeeded] = useState(false);

  useEffect(() => {
    call(api.GET('/api/v1/setup'))
      .then((answer) => setSetupNeeded(answer.needed))
      .catch(() => setSetupNeeded(false));
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // RedirectIfSignedIn takes the user on once the session is known.
      await signedIn(await call(api.POST('/api/v1/auth/login', { body: { email, password } })));
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  return (
    <AuthLayout title="Sign in to Marina" subtitle="Use the email address and password of your Marina account.">
      {setupNeeded ? (
        <Alert kind="info" title="Marina has no administrator yet">
          Open the one-time setup link Marina printed in its server log when it started (it looks like{' '}
          <code>https://your-host/setup#…</code>), or create one on the server with <code>marina admin create</code>.
        </Alert>
      ) : null}
      {state?.notice ? <Alert kind="success">{state.notice}</Alert> : null}
      {expired ? <Alert kind="warning">Your session has ended; sign in again to continue.</Alert> : null}
      <LoginProviderError />
      <FormError error={error} fields={['email', 'password']} />
      <form className="form" onSubmit={submit} noValidate>
        <EmailField autoComplete="username" required value={email} onChange={setEmail} error={fieldErrors.email} />
        <PasswordField required value={password} onChange={setPassword} error={fieldErrors.password} />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy || !email || !password}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <LoginProviders />
      <p className="auth-footnote">
        <Link to="/reset">Forgot password?</Link>
      </p>
      <CreateAccountLink />
    </AuthLayout>
  );
}
