import { type FormEvent, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api, call } from '../api/client';
import { ApiError } from '../api/errors';
import { Alert } from '../components/Alert';
import { AuthLayout } from '../components/AuthLayout';
import { FormError } from '../components/FormError';
import { PasswordFields, passwordsReady } from '../components/PasswordFields';
import type { LoginState } from '../components/RouteGuards';
import { tokenFromHash } from '../hash';

export function InvitePage() {
  const navigate = useNavigate();
  const [token] = useState(() => tokenFromHash());
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
      const { user } = await call(api.POST('/api/v1/auth/invite', { body: { token, password } }));
      const state: LoginState = { email: user.email, notice: 'Your password is set. Sign in to continue.' };
      navigate('/login', { replace: true, state });
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  return (
    <AuthLayout title="Accept your invitation" subtitle="Choose the password you will sign in to Marina with.">
      {token ? null : (
        <Alert kind="warning" title="This page needs your invitation link">
          Open the complete link you were given; the part after <code>#</code> is your one-time secret. If it is lost or
          expired, ask the person who invited you for a new one.
        </Alert>
      )}
      <FormError error={error} fields={['password']} />
      <form className="form" onSubmit={submit} noValidate>
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
          disabled={busy || !token || !passwordsReady(password, confirm)}
        >
          {busy ? 'Saving…' : 'Set password'}
        </button>
      </form>
      <p className="auth-footnote">
        Already have a password? <Link to="/login">Sign in</Link>
      </p>
    </AuthLayout>
  );
}
