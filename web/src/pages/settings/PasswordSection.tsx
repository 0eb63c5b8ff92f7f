import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { ApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { CheckboxField } from '../../components/ChoiceCard';
import { FormError } from '../../components/FormError';
import { PasswordField, PasswordFields, passwordsReady } from '../../components/PasswordFields';

export function PasswordSection() {
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [revokeTokens, setRevokeTokens] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setDone(false);
    try {
      await call(api.POST('/api/v1/me/password', { body: { currentPassword, newPassword, revokeTokens } }));
      setDone(true);
      setRevokeTokens(false);
      setCurrentPassword('');
      setNewPassword('');
      setConfirm('');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return (
    <section className="card">
      <header className="card-header">
        <div>
          <h2>Change password</h2>
          <p className="card-subtitle">Your other browser sessions are signed out; this one stays signed in.</p>
        </div>
      </header>
      <div className="card-body">
        <form className="form form-narrow" onSubmit={submit} noValidate>
          {done ? <Alert kind="success">Password changed. Your other sessions were signed out.</Alert> : null}
          <FormError error={error} fields={['currentPassword', 'newPassword']} />
          <PasswordField
            label="Current password"
            required
            value={currentPassword}
            onChange={setCurrentPassword}
            error={fieldErrors.currentPassword}
          />
          <PasswordFields
            label="New password"
            password={newPassword}
            confirm={confirm}
            onPassword={setNewPassword}
            onConfirm={setConfirm}
            error={fieldErrors.newPassword}
          />
          <CheckboxField
            label="Also revoke all my API tokens"
            hint="Do this if you think your password or a token leaked: scripts and the marina CLI will need new tokens."
            checked={revokeTokens}
            onChange={setRevokeTokens}
          />
          <div className="form-actions form-actions-start">
            <button
              type="submit"
              className="btn btn-primary"
              disabled={busy || !currentPassword || !passwordsReady(newPassword, confirm)}
            >
              {busy ? 'Saving…' : 'Change password'}
            </button>
          </div>
        </form>
      </div>
    </section>
  );
}
