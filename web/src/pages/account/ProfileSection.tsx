import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { ApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { useMe, useSession } from '../../session/SessionContext';

/** Languages people commonly ask for; mails fall back to English where the operator has no translation. */
const LANGUAGES: { code: string; name: string }[] = [
  { code: 'en', name: 'English' },
  { code: 'fr', name: 'Français' },
  { code: 'de', name: 'Deutsch' },
  { code: 'es', name: 'Español' },
  { code: 'it', name: 'Italiano' },
  { code: 'nl', name: 'Nederlands' },
  { code: 'pt-BR', name: 'Português (Brasil)' },
];

/** The person's own name and the language of the mails Marina sends them. */
export function ProfileSection() {
  const me = useMe();
  const { refresh } = useSession();
  const [name, setName] = useState(me.user.name);
  const [locale, setLocale] = useState(me.user.locale);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const languages = LANGUAGES.some((l) => l.code === me.user.locale)
    ? LANGUAGES
    : [...LANGUAGES, { code: me.user.locale, name: me.user.locale }];

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setDone(false);
    try {
      await call(api.PATCH('/api/v1/me', { body: { name: name.trim(), locale } }));
      await refresh();
      setDone(true);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  const unchanged = name.trim() === me.user.name && locale === me.user.locale;
  return (
    <section className="card" aria-label="Profile">
      <header className="card-header">
        <div>
          <h2>Profile</h2>
          <p className="card-subtitle">
            Your name as your team sees it, and the language of the mails Marina sends you.
          </p>
        </div>
      </header>
      <div className="card-body">
        <form className="form form-narrow" onSubmit={submit} noValidate>
          {done ? <Alert kind="success">Saved.</Alert> : null}
          <FormError error={error} fields={['name', 'locale']} />
          <Field label="Name" error={fieldErrors.name}>
            {(props) => <input {...props} value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" />}
          </Field>
          <Field
            label="Language of mails"
            error={fieldErrors.locale}
            hint="Mails come in English where your provider has no translation yet."
          >
            {(props) => (
              <select {...props} value={locale} onChange={(e) => setLocale(e.target.value)}>
                {languages.map((l) => (
                  <option key={l.code} value={l.code}>
                    {l.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <div className="form-actions form-actions-start">
            <button type="submit" className="btn btn-primary" disabled={busy || unchanged || !name.trim()}>
              {busy ? 'Saving…' : 'Save profile'}
            </button>
          </div>
        </form>
      </div>
    </section>
  );
}
