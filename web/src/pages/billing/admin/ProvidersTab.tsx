import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiError, errorMessage } from '../../../api/errors';
import { Alert } from '../../../components/Alert';
import { Badge } from '../../../components/Badge';
import { Loading } from '../../../components/EmptyState';
import { Field } from '../../../components/Field';
import { useToast } from '../../../components/Toast';
import { formatDateTime } from '../../../format';
import {
  billingAdminApi,
  billingKeys,
  type Provider,
  type ProviderId,
  type ProviderInput,
  providersQuery,
} from '../api';

const about: Record<ProviderId, { title: string; text: string }> = {
  stripe: { title: 'Stripe', text: 'Cards, for invoices in USD (and other currencies but ZWG); the customer portal.' },
  'paynow:USD': { title: 'Paynow (USD)', text: 'Paynow’s page, EcoCash and OneMoney, for invoices in USD.' },
  'paynow:ZWG': { title: 'Paynow (ZWG)', text: 'Paynow’s page, EcoCash and OneMoney, for invoices in ZWG.' },
};

/** A write-only secret: empty means "keep the one stored"; the API never shows it back. */
function SecretField({
  label,
  hint,
  configured,
  value,
  onChange,
  error,
}: {
  label: string;
  hint: string;
  configured: boolean;
  value: string;
  onChange(value: string): void;
  error: string | undefined;
}) {
  return (
    <Field label={label} hint={configured ? `${hint} Stored; type a new one to replace it.` : hint} error={error}>
      {(props) => (
        <input
          {...props}
          type="password"
          className="mono"
          autoComplete="off"
          spellCheck={false}
          placeholder={configured ? '•••••••• (stored)' : ''}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

function ProviderCard({ provider }: { provider: Provider }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const id = provider.id as ProviderId;
  const stripe = id === 'stripe';
  const [secretKey, setSecretKey] = useState('');
  const [webhookSecret, setWebhookSecret] = useState('');
  const [integrationId, setIntegrationId] = useState(provider.integrationId ?? '');
  const [integrationKey, setIntegrationKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const errors = error instanceof ApiError ? error.fieldErrors : {};

  async function send(body: ProviderInput, message: string) {
    setBusy(true);
    setError(null);
    try {
      await billingAdminApi.setProvider(id, body);
      await queryClient.invalidateQueries({ queryKey: billingKeys.providers });
      setSecretKey('');
      setWebhookSecret('');
      setIntegrationKey('');
      toast.success(message);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  function save(event: FormEvent) {
    event.preventDefault();
    // The API stores a provider's credentials together: a new Stripe key comes with its webhook
    // secret, a new Paynow integration id with its key (an id alone would be ignored).
    const body: ProviderInput = stripe
      ? { secretKey: secretKey.trim(), webhookSecret: webhookSecret.trim() }
      : { integrationId: integrationId.trim(), integrationKey: integrationKey.trim() };
    // Saving credentials leaves the switch as it is (the API would turn it on).
    void send({ ...body, enabled: provider.configured ? provider.enabled : true }, `${about[id].title}: saved.`);
  }

  const complete = stripe
    ? secretKey.trim() !== '' && webhookSecret.trim() !== ''
    : integrationId.trim() !== '' && integrationKey.trim() !== '';
  const named = Object.keys(errors);
  const inline =
    named.length > 0 &&
    named.every((f) => ['secretKey', 'webhookSecret', 'integrationId', 'integrationKey'].includes(f));
  const webhookUrl = `${window.location.origin}/api/v1/billing/webhooks/stripe`;
  return (
    <section className="card" aria-label={about[id].title} data-provider={id}>
      <header className="card-header">
        <div>
          <h2>
            {about[id].title}{' '}
            {provider.configured ? (
              <Badge tone={provider.enabled ? 'green' : 'gray'}>{provider.enabled ? 'on' : 'off'}</Badge>
            ) : (
              <Badge tone="gray">not set up</Badge>
            )}
          </h2>
          <p className="card-subtitle">
            {about[id].text}
            {provider.updatedAt ? ` Changed ${formatDateTime(provider.updatedAt)}.` : ''}
          </p>
        </div>
        <button
          type="button"
          role="switch"
          aria-checked={provider.enabled}
          aria-label={`${about[id].title} enabled`}
          className={`switch${provider.enabled ? ' switch-on' : ''}`}
          title={provider.configured ? undefined : 'Set the credentials first.'}
          disabled={busy || !provider.configured}
          onClick={() =>
            void send(
              { enabled: !provider.enabled },
              `${about[id].title} is ${provider.enabled ? 'off: not offered to customers' : 'on'}.`,
            )
          }
        >
          <span className="switch-thumb" aria-hidden="true" />
        </button>
      </header>
      <form
        className="card-body form billing-form"
        onSubmit={save}
        noValidate
        aria-label={`${about[id].title} credentials`}
      >
        {stripe ? (
          <>
            <SecretField
              label="Secret key"
              hint="sk_live_… (or sk_test_…), from Stripe’s Developers → API keys."
              configured={provider.configured}
              value={secretKey}
              onChange={setSecretKey}
              error={errors.secretKey}
            />
            <SecretField
              label="Webhook signing secret"
              hint={`whsec_…, of the webhook endpoint ${webhookUrl}.`}
              configured={provider.configured}
              value={webhookSecret}
              onChange={setWebhookSecret}
              error={errors.webhookSecret}
            />
          </>
        ) : (
          <>
            <Field
              label="Integration id"
              hint="Digits, from Paynow’s integration settings."
              error={errors.integrationId}
            >
              {(props) => (
                <input
                  {...props}
                  className="mono"
                  inputMode="numeric"
                  maxLength={20}
                  value={integrationId}
                  onChange={(e) => setIntegrationId(e.target.value)}
                />
              )}
            </Field>
            <SecretField
              label="Integration key"
              hint="The key Paynow mailed for this integration."
              configured={provider.configured}
              value={integrationKey}
              onChange={setIntegrationKey}
              error={errors.integrationKey}
            />
          </>
        )}
        {error && !inline ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
        <div className="form-actions form-actions-start">
          <button type="submit" className="btn btn-primary" disabled={busy || !complete}>
            {provider.configured ? 'Replace credentials' : 'Save credentials'}
          </button>
          <span className="muted billing-choice-note">
            {stripe ? 'Both, together.' : 'The id with its key.'} Stored sealed; never shown again.
          </span>
        </div>
      </form>
    </section>
  );
}

/** The payment providers' credentials (sealed, write-only) and whether each is offered. */
export function ProvidersTab() {
  const providers = useQuery(providersQuery());
  if (providers.error) return <Alert kind="error">{errorMessage(providers.error)}</Alert>;
  if (!providers.data) return <Loading />;
  return (
    <div className="card-stack">
      {providers.data.map((provider) => (
        <ProviderCard key={provider.id} provider={provider} />
      ))}
    </div>
  );
}
