import { type FormEvent, useState } from 'react';
import { ApiError, errorMessage } from '../../api/errors';
import { ChoiceCard } from '../../components/ChoiceCard';
import { Field } from '../../components/Field';
import { type Domain, type DomainMethod, domainsApi } from './api';
import { hostnameHint, suggestedMethod } from './records';

const methods: { value: DomainMethod; title: string; hint: string }[] = [
  {
    value: 'cname',
    title: 'CNAME (a subdomain)',
    hint: 'For names like shop.example.com: one CNAME record points the name at this instance.',
  },
  {
    value: 'apex',
    title: 'A/AAAA + TXT (the bare domain)',
    hint: 'For example.com itself, which cannot hold a CNAME: address records to the proxy, and a TXT record.',
  },
  {
    value: 'txt',
    title: 'TXT only (prove first, move later)',
    hint: 'Proves the name is yours with a TXT record while the site still points elsewhere.',
  },
];

/** Adds a custom domain: the server checks the name and answers with the records to create. */
export function AddDomainForm({ instanceId, onAdded }: { instanceId: string; onAdded(domain: Domain): Promise<void> }) {
  const [hostname, setHostname] = useState('');
  const [method, setMethod] = useState<DomainMethod>('cname');
  const [methodChosen, setMethodChosen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const hint = hostnameHint(hostname);
  const fieldError = error instanceof ApiError ? error.fieldErrors.hostname : undefined;

  function typed(value: string) {
    setHostname(value);
    // The server's reason was about the name as it was: a changed name waits for its own answer.
    setError(null);
    // Until the user picks a method, the likely one follows the name.
    if (!methodChosen) setMethod(suggestedMethod(value));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { domain } = await domainsApi.add(instanceId, { hostname: hostname.trim(), method });
      setHostname('');
      setMethodChosen(false);
      setMethod('cname');
      await onAdded(domain);
    } catch (caught) {
      // Nothing changed on the server: the form keeps what was typed, with the server's reason.
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card add-domain" onSubmit={submit} aria-label="Add a domain">
      <header className="card-header">
        <h3>Add a domain</h3>
      </header>
      <div className="card-body">
        <Field
          label="Domain name"
          hint={hint ?? 'A name you own, like shop.example.com. Unicode names are fine.'}
          error={fieldError ?? (error ? errorMessage(error) : undefined)}
        >
          {(props) => (
            <input
              {...props}
              className="mono"
              autoComplete="off"
              autoCapitalize="none"
              spellCheck={false}
              inputMode="url"
              placeholder="shop.example.com"
              value={hostname}
              onChange={(e) => typed(e.target.value)}
            />
          )}
        </Field>
        <fieldset className="domain-methods">
          <legend>How you prove it is yours</legend>
          {methods.map((m) => (
            <ChoiceCard
              key={m.value}
              name="domain-method"
              value={m.value}
              checked={method === m.value}
              onChange={() => {
                setMethod(m.value);
                setMethodChosen(true);
              }}
              title={m.title}
              hint={m.hint}
            />
          ))}
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy || !hostname.trim()}>
            {busy ? 'Adding…' : 'Add domain'}
          </button>
        </div>
      </div>
    </form>
  );
}
