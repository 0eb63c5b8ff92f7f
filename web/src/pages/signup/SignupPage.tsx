import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { ApiError, errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/EmptyState';
import { FormError } from '../../components/FormError';
import { EmailField, NameField } from '../../components/FormFields';
import { request, type SignupAnswer, type SignupOffer, type SignupRequest, signupOfferQuery } from './api';
import { PlanCards, TemplateCards } from './OfferCards';
import { SignupLayout } from './SignupLayout';
import { SubdomainField } from './SubdomainField';
import '../../styles/oidc.css';

const FIELDS = ['email', 'organizationName', 'subdomain', 'planId', 'templateId'];

/** A label made from the organization's name, as the address field's first guess. */
export function labelFrom(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
}

/** `/signup`: a new customer's account, organization and first Odoo, in one form. */
export function SignupPage() {
  const offer = useQuery(signupOfferQuery());
  if (offer.isPending) return <Loading label="Loading…" />;
  if (offer.error) {
    return (
      <SignupLayout title="Create your account">
        <Alert kind="error">{errorMessage(offer.error)}</Alert>
      </SignupLayout>
    );
  }
  if (!offer.data || offer.data.plans.length === 0) {
    return (
      <SignupLayout title="Sign-up is closed" subtitle="New accounts cannot be created here at the moment.">
        <p className="auth-footnote">
          Have an account? <Link to="/login">Sign in</Link>
        </p>
      </SignupLayout>
    );
  }
  return <SignupForm offer={offer.data} />;
}

function SignupForm({ offer }: { offer: SignupOffer }) {
  const navigate = useNavigate();
  const [email, setEmail] = useState('');
  const [organizationName, setOrganizationName] = useState('');
  const [subdomain, setSubdomain] = useState('');
  // Until the address is typed by hand, it follows the organization's name.
  const [subdomainTyped, setSubdomainTyped] = useState(false);
  const [planId, setPlanId] = useState(offer.plans[0]?.id ?? '');
  const [templateId, setTemplateId] = useState('');
  const [busy, setBusy] = useState<null | 'email' | string>(null);
  const [error, setError] = useState<unknown>(null);

  function nameOrganization(name: string) {
    setOrganizationName(name);
    if (!subdomainTyped) setSubdomain(labelFrom(name));
  }

  function common(): SignupRequest {
    return {
      organizationName: organizationName.trim(),
      subdomain: subdomain.trim(),
      planId,
      ...(templateId ? { templateId } : {}),
      locale: navigator.language,
    };
  }

  async function send(body: SignupRequest, by: string) {
    setBusy(by);
    setError(null);
    try {
      const answer = await request<SignupAnswer>('POST', '/signup', body);
      if (answer.status === 'redirect') {
        // The provider's pages: the whole window goes, and comes back to the welcome page.
        window.location.assign(answer.url);
        return;
      }
      navigate('/signup/sent', { state: { email: body.email } });
    } catch (caught) {
      setError(caught);
      setBusy(null);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    void send({ ...common(), email: email.trim() }, 'email');
  }

  const fieldErrors = error instanceof ApiError ? { ...error.fieldErrors } : {};
  if (error instanceof ApiError && error.code === 'MARINA_E_NAME_TAKEN' && !fieldErrors.subdomain) {
    fieldErrors.subdomain = error.message;
  }
  const orgReady = organizationName.trim() !== '' && subdomain.trim() !== '' && planId !== '';
  return (
    <SignupLayout
      wide
      title="Create your account"
      subtitle="Start your free trial: your own Odoo, at your own address, in a few minutes."
    >
      {error instanceof ApiError && error.status === 429 ? (
        <Alert kind="error" title="Too many sign-ups">
          {error.message}
        </Alert>
      ) : (
        <FormError error={error} fields={FIELDS} />
      )}
      <form className="form signup-form" onSubmit={submit} noValidate>
        <section className="signup-section" aria-labelledby="signup-company">
          <h2 id="signup-company">Your company</h2>
          <NameField
            label="Organization name"
            required
            autoComplete="organization"
            placeholder="Acme Trading"
            value={organizationName}
            onChange={nameOrganization}
            error={fieldErrors.organizationName}
          />
          <SubdomainField
            value={subdomain}
            baseDomain={offer.baseDomain}
            error={fieldErrors.subdomain}
            onChange={(value) => {
              setSubdomainTyped(true);
              setSubdomain(value);
            }}
          />
        </section>
        <section className="signup-section">
          <PlanCards plans={offer.plans} value={planId} onChange={setPlanId} />
          {fieldErrors.planId ? <p className="field-error">{fieldErrors.planId}</p> : null}
          {offer.templates.length > 0 ? (
            <TemplateCards templates={offer.templates} value={templateId} onChange={setTemplateId} />
          ) : null}
        </section>
        <section className="signup-section" aria-labelledby="signup-account">
          <h2 id="signup-account">Your sign-in</h2>
          <EmailField
            label="Work email"
            autoComplete="email"
            required
            value={email}
            onChange={setEmail}
            error={fieldErrors.email}
          />
          <p className="field-hint signup-password-later">
            You choose your password after confirming your email: we mail you a link.
          </p>
          <button
            type="submit"
            className="btn btn-primary btn-block"
            disabled={busy !== null || !orgReady || !email.trim()}
          >
            {busy === 'email' ? 'Sending the link…' : 'Start free trial'}
          </button>
        </section>
      </form>
      {offer.providers.length > 0 ? (
        <nav className="oidc-login signup-providers" aria-label="Sign up with another account">
          <div className="oidc-login-divider">or</div>
          {offer.providers.map((provider) => (
            <button
              key={provider.slug}
              type="button"
              className="btn btn-secondary btn-block"
              disabled={busy !== null || !orgReady}
              onClick={() => void send({ ...common(), provider: provider.slug }, provider.slug)}
            >
              {busy === provider.slug ? 'Going to ' : 'Sign up with '}
              {provider.name}
            </button>
          ))}
        </nav>
      ) : null}
      <p className="auth-footnote">
        Already have an account? <Link to="/login">Sign in</Link>
      </p>
    </SignupLayout>
  );
}
