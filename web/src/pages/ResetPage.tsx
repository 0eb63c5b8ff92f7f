import { type FormEvent, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router-dom';
import { api, call } from '../api/client';
import { ApiError } from '../api/errors';
import { Alert } from '../components/Alert';
import { AuthLayout } from '../components/AuthLayout';
import { FormError } from '../components/FormError';
import { EmailField } from '../components/FormFields';
import { PasswordFields, passwordsReady } from '../components/PasswordFields';
import { tokenFromHash } from '../hash';
import { useSession } from '../session/SessionContext';

/**
 * "Forgot password?": without a link, ask for one by email; with the link from that mail (its
 * secret after `#`), choose a new password, which signs in and ends every other session.
 */
export function ResetPage() {
  // From the router's location, so "Ask for a new one" (a link to /reset) leaves the spent link.
  const token = tokenFromHash(useLocation().hash);
  return token ? <ChooseNewPassword key={token} token={token} /> : <AskForLink />;
}

function AskForLink() {
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await call(api.POST('/api/v1/auth/password-reset', { body: { email: email.trim() } }));
      setSentTo(email.trim());
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return (
    <AuthLayout title="Reset your password" subtitle="We mail a link to the address of your Marina account.">
      {sentTo ? (
        <Alert kind="success" title="Check your mailbox">
          If {sentTo} has a Marina account, a reset link is on its way. It works once, for 60 minutes.
        </Alert>
      ) : (
        <>
          <FormError error={error} fields={['email']} />
          <form className="form" onSubmit={submit} noValidate>
            <EmailField autoComplete="username" required value={email} onChange={setEmail} error={fieldErrors.email} />
            <button type="submit" className="btn btn-primary btn-block" disabled={busy || !email.trim()}>
              {busy ? 'Sending…' : 'Send reset link'}
            </button>
          </form>
        </>
      )}
      <p className="auth-footnote">
        Remembered it? <Link to="/login">Sign in</Link>
      </p>
    </AuthLayout>
  );
}

function ChooseNewPassword({ token }: { token: string }) {
  const navigate = useNavigate();
  const { signedIn } = useSession();
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signedIn(await call(api.POST('/api/v1/auth/password-reset/complete', { body: { token, password } })));
      navigate('/', { replace: true });
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  const linkDead = error instanceof ApiError && error.code === 'MARINA_E_INVALID_TOKEN';
  return (
    <AuthLayout title="Choose a new password" subtitle="Your other sessions end once it is set.">
      {linkDead ? (
        <Alert kind="error" title="This link no longer works">
          It was used already or is older than 60 minutes. <Link to="/reset">Ask for a new one</Link>.
        </Alert>
      ) : (
        <FormError error={error} fields={['password']} />
      )}
      {linkDead ? null : (
        <form className="form" onSubmit={submit} noValidate>
          <PasswordFields
            label="New password"
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
            {busy ? 'Saving…' : 'Set password and sign in'}
          </button>
        </form>
      )}
    </AuthLayout>
  );
}
