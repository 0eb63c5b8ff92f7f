import { type FormEvent, useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api, call } from '../api/client';
import { ApiError } from '../api/errors';
import { Alert } from '../components/Alert';
import { AuthLayout } from '../components/AuthLayout';
import { Loading } from '../components/EmptyState';
import { FormError } from '../components/FormError';
import { EmailField, NameField } from '../components/FormFields';
import { PasswordFields, passwordsReady } from '../components/PasswordFields';
import { tokenFromHash } from '../hash';
import { useSession } from '../session/SessionContext';

function MissingToken() {
  return (
    <Alert kind="warning" title="This page needs the one-time setup link">
      <p>
        When Marina starts without an administrator it prints a link like <code>http://your-host/setup#…</code> in its
        server log. Open that exact link (the part after <code>#</code> is the secret).
      </p>
      <p>
        No access to the log? Create the administrator on the server with <code>marina admin create</code>, or restart
        Marina for a fresh link.
      </p>
    </Alert>
  );
}

export function SetupPage() {
  const { signedIn } = useSession();
  const navigate = useNavigate();
  const [token] = useState(() => tokenFromHash());
  const [needed, setNeeded] = useState<boolean | undefined>(undefined);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    call(api.GET('/api/v1/setup'))
      .then((answer) => setNeeded(answer.needed))
      .catch((caught: unknown) => {
        setError(caught);
        setNeeded(true);
      });
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!token) return;
    setBusy(true);
    setError(null);
    try {
      const body = { token, email, password, ...(name.trim() ? { name: name.trim() } : {}) };
      await signedIn(await call(api.POST('/api/v1/setup', { body })));
      navigate('/', { replace: true });
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  if (needed === undefined) return <Loading />;
  if (!needed) {
    return (
      <AuthLayout
        title="Marina is already set up"
        subtitle="An administrator exists, so the setup link no longer works."
      >
        <Link className="btn btn-primary btn-block" to="/login">
          Go to sign in
        </Link>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout
      title="Create Marina's first administrator"
      subtitle="This account can create organizations, add people and see the whole audit log. You are signed in right after."
    >
      {token ? null : <MissingToken />}
      <FormError error={error} fields={['name', 'email', 'password']} />
      <form className="form" onSubmit={submit} noValidate>
        <NameField optional autoComplete="name" value={name} onChange={setName} error={fieldErrors.name} />
        <EmailField required value={email} onChange={setEmail} error={fieldErrors.email} />
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
          disabled={busy || !token || !email || !passwordsReady(password, confirm)}
        >
          {busy ? 'Creating administrator…' : 'Create administrator'}
        </button>
      </form>
    </AuthLayout>
  );
}
