import { type FormEvent, useState } from 'react';
import { ApiError } from '../../api/errors';
import { CheckboxField } from '../../components/ChoiceCard';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { Modal } from '../../components/Modal';
import type { OidcProvider, OidcProviderInput } from './api';

const FIELDS = ['slug', 'name', 'issuer', 'clientId', 'clientSecret', 'scopes'] as const;

/** Adds a provider, or changes one (the secret is kept unless a new one is typed). */
export function ProviderForm({
  provider,
  onSave,
  onClose,
}: {
  provider?: OidcProvider;
  onSave(input: OidcProviderInput): Promise<void>;
  onClose(): void;
}) {
  const [slug, setSlug] = useState(provider?.slug ?? '');
  const [name, setName] = useState(provider?.name ?? '');
  const [issuer, setIssuer] = useState(provider?.issuer ?? 'https://');
  const [clientId, setClientId] = useState(provider?.clientId ?? '');
  const [clientSecret, setClientSecret] = useState('');
  const [scopes, setScopes] = useState(provider?.scopes ?? 'openid email profile');
  const [enabled, setEnabled] = useState(provider?.enabled ?? true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSave({ slug, name, issuer, clientId, clientSecret, scopes, enabled });
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const text = (
    label: string,
    value: string,
    set: (v: string) => void,
    field: (typeof FIELDS)[number],
    hint?: string,
    extra: { type?: string; disabled?: boolean; mono?: boolean; optional?: boolean } = {},
  ) => (
    <Field label={label} hint={hint} error={fieldErrors[field]} optional={extra.optional}>
      {(props) => (
        <input
          {...props}
          type={extra.type ?? 'text'}
          className={extra.mono ? 'mono' : undefined}
          spellCheck={false}
          autoComplete="off"
          disabled={extra.disabled}
          value={value}
          onChange={(e) => set(e.target.value)}
        />
      )}
    </Field>
  );

  return (
    <Modal
      title={provider ? `Change ${provider.name}` : 'Add a sign-in provider'}
      description="Marina reads the issuer's discovery document before saving: a wrong address or client is refused here, not at a user's sign-in."
      onClose={onClose}
    >
      <form className="form" onSubmit={submit} noValidate aria-label="Sign-in provider">
        <FormError error={error} fields={FIELDS} />
        {text('Name', name, setName, 'name', 'On the login page’s button: “Sign in with …”.')}
        {text('Slug', slug, setSlug, 'slug', 'In the sign-in address; lowercase letters, digits and dashes.', {
          disabled: Boolean(provider),
          mono: true,
        })}
        {text('Issuer', issuer, setIssuer, 'issuer', 'Such as https://accounts.google.com.', { mono: true })}
        {text('Client ID', clientId, setClientId, 'clientId', undefined, { mono: true })}
        {text(
          'Client secret',
          clientSecret,
          setClientSecret,
          'clientSecret',
          provider
            ? 'Leave empty to keep the saved secret. Stored encrypted; never shown again.'
            : 'Stored encrypted; never shown again.',
          { type: 'password', optional: Boolean(provider) },
        )}
        {text('Scopes', scopes, setScopes, 'scopes', 'Space-separated; must include openid.', { mono: true })}
        <CheckboxField
          label="Offer it on the login page"
          hint="Off: nobody can start a sign-in through it; linked accounts keep their passwords."
          checked={enabled}
          onChange={setEnabled}
        />
        <p className="field-hint">
          At the provider, register this redirect URI:{' '}
          <code>{`${window.location.origin}/api/v1/auth/oidc/callback`}</code>
        </p>
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Checking the issuer…' : provider ? 'Save' : 'Add provider'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
