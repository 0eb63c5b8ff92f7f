import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { ChoiceCard } from '../../components/ChoiceCard';
import { CopyField } from '../../components/CopyField';
import { Field } from '../../components/Field';
import { useToast } from '../../components/Toast';
import { domainKeys, domainsApi, type Protection, type ProtectionInput, protectionQuery } from './api';

type Kind = Protection['kind'];

const kinds: { value: Kind; title: string; hint: string }[] = [
  {
    value: 'none',
    title: 'Open',
    hint: 'Anyone with the address reaches the instance (robots are still told not to index it).',
  },
  { value: 'basic', title: 'Password', hint: 'The browser asks for a user name and password before Odoo is reached.' },
  { value: 'allow', title: 'IP allow-list', hint: 'Only these addresses or networks reach it; others get 403.' },
];

const addressesOf = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .map((a) => a.trim())
    .filter(Boolean);

/** Keeps a staging or development instance away from the public: a password or an address list. */
export function ProtectionCard({ instanceId, isAdmin }: { instanceId: string; isAdmin: boolean }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const current = useQuery(protectionQuery(instanceId));
  const [kind, setKind] = useState<Kind>('none');
  const [addresses, setAddresses] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [revealed, setRevealed] = useState<{ username: string; password: string } | null>(null);

  useEffect(() => {
    if (!current.data) return;
    setKind(current.data.kind);
    setAddresses((current.data.addresses ?? []).join('\n'));
  }, [current.data]);

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const body: ProtectionInput = kind === 'allow' ? { kind, addresses: addressesOf(addresses) } : { kind };
    try {
      const { protection } = await domainsApi.protect(instanceId, body);
      setRevealed(
        protection.kind === 'basic' && protection.username && protection.password
          ? { username: protection.username, password: protection.password }
          : null,
      );
      queryClient.setQueryData(domainKeys.protection(instanceId), { ...protection, password: undefined });
      toast.success(protection.kind === 'none' ? 'The instance is open.' : 'The protection is in place.');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const saved = current.data?.kind;
  const addressError = error instanceof ApiError ? error.fieldErrors.addresses : undefined;
  return (
    <section className="card protection-card" aria-label="Protection">
      <header className="card-header">
        <h3>Protection</h3>
        <span className="card-subtitle">
          {saved === 'basic'
            ? `Password protected (user ${current.data?.username ?? ''})`
            : saved === 'allow'
              ? `Allow-list: ${(current.data?.addresses ?? []).join(', ')}`
              : saved === 'none'
                ? 'Open to anyone with the address'
                : ''}
        </span>
      </header>
      <form className="card-body" onSubmit={save}>
        {current.error ? <Alert kind="error">{errorMessage(current.error)}</Alert> : null}
        <fieldset className="protection-kinds" disabled={!isAdmin}>
          <legend className="visually-hidden">Who reaches the instance</legend>
          {kinds.map((k) => (
            <ChoiceCard
              key={k.value}
              name="protection-kind"
              value={k.value}
              checked={kind === k.value}
              onChange={() => setKind(k.value)}
              title={k.title}
              hint={k.hint}
            />
          ))}
        </fieldset>
        {kind === 'allow' ? (
          <Field
            label="Allowed addresses"
            hint="One IPv4 or IPv6 address or network (CIDR) a line, like 203.0.113.7 or 198.51.100.0/24."
            error={addressError}
          >
            {(props) => (
              <textarea
                {...props}
                className="mono"
                rows={4}
                spellCheck={false}
                value={addresses}
                disabled={!isAdmin}
                onChange={(e) => setAddresses(e.target.value)}
              />
            )}
          </Field>
        ) : null}
        {error && !addressError ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
        {revealed ? (
          <div className="protection-secret" data-testid="protection-credentials">
            <Alert kind="success" title="Password protection is on">
              The password is shown only now: copy it and give it to the people who need the instance.
            </Alert>
            <span className="protection-secret-label">User name</span>
            <CopyField label="Protection user name" value={revealed.username} />
            <span className="protection-secret-label">Password</span>
            <CopyField label="Protection password" value={revealed.password} />
          </div>
        ) : null}
        {isAdmin ? (
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? 'Saving…' : kind === 'basic' && saved === 'basic' ? 'Set a new password' : 'Save protection'}
            </button>
          </div>
        ) : null}
      </form>
    </section>
  );
}
