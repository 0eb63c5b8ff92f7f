import { type FormEvent, useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api, call } from '../api/client';
import { ApiError, errorMessage } from '../api/errors';
import { Alert } from '../components/Alert';
import { AuthLayout } from '../components/AuthLayout';
import { Loading } from '../components/EmptyState';
import { FormError } from '../components/FormError';
import { NameField } from '../components/FormFields';
import { PasswordField, PasswordFields, passwordsReady } from '../components/PasswordFields';
import { tokenFromHash } from '../hash';
import { useSession } from '../session/SessionContext';

type Preview = Awaited<ReturnType<typeof lookup>>;

async function lookup(token: string) {
  return call(api.POST('/api/v1/auth/invite/lookup', { body: { token } }));
}

/**
 * The page an invitation link opens. An existing account joins with its own password; a new one
 * is created here with the password the invitee chooses. Nobody else ever sets it.
 */
export function InvitePage() {
  const navigate = useNavigate();
  const { signedIn } = useSession();
  const [token] = useState(() => tokenFromHash());
  const [preview, setPreview] = useState<Preview | null>(null);
  const [lookupError, setLookupError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (!token) return;
    lookup(token).then(setPreview, setLookupError);
  }, [token]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!token || !preview) return;
    setBusy(true);
    setError(null);
    try {
      const body = { token, password, ...(!preview.accountExists && name.trim() ? { name: name.trim() } : {}) };
      // Accepting signs in: straight to the organization joined.
      const accepted = await call(api.POST('/api/v1/auth/invite', { body }));
      await signedIn(accepted);
      navigate(`/organizations/${accepted.organization.slug}`, { replace: true });
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  const ready = preview?.accountExists ? password.length > 0 : passwordsReady(password, confirm);

  return (
    <AuthLayout
      title="Accept your invitation"
      subtitle={
        preview
          ? `${preview.invitedBy} invited ${preview.email} to join ${preview.organization.name} as ${preview.role}.`
          : 'Join an organization on Marina.'
      }
    >
      {token ? null : (
        <Alert kind="warning" title="This page needs your invitation link">
          Open the complete link from the invitation email; the part after <code>#</code> is your one-time secret. If it
          is lost or expired, ask the person who invited you for a new invitation.
        </Alert>
      )}
      {lookupError ? <Alert kind="error">{errorMessage(lookupError)}</Alert> : null}
      {token && !preview && !lookupError ? <Loading /> : null}
      {preview ? (
        <>
          <FormError error={error} fields={['password', 'name']} />
          <form className="form" onSubmit={submit} noValidate>
            {preview.accountExists ? (
              <PasswordField
                label="Your Marina password"
                hint={`${preview.email} already has a Marina account: confirm it is you.`}
                value={password}
                onChange={setPassword}
                error={fieldErrors.password}
              />
            ) : (
              <>
                <NameField optional autoComplete="name" value={name} onChange={setName} error={fieldErrors.name} />
                <PasswordFields
                  password={password}
                  confirm={confirm}
                  onPassword={setPassword}
                  onConfirm={setConfirm}
                  error={fieldErrors.password}
                />
              </>
            )}
            <button type="submit" className="btn btn-primary btn-block" disabled={busy || !ready}>
              {busy ? 'Joining…' : `Join ${preview.organization.name}`}
            </button>
          </form>
        </>
      ) : null}
      <p className="auth-footnote">
        Already signed in as this account? <Link to="/organizations">Accept it from your organizations</Link>
      </p>
    </AuthLayout>
  );
}
