import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { Badge } from '../../components/Badge';
import { FormError } from '../../components/FormError';
import { useToast } from '../../components/Toast';
import { type BillingDetails, billingApi, billingKeys } from './api';
import { draftOf, fieldErrorIn, namesShownInline, type PartyDraft, PartyFields, partyOf } from './PartyFields';

/* The request schema names body fields plainly; the service under `details.`. */
const PREFIXES = ['', 'details.'];

/** Who the invoices are made out to. Issued invoices keep what they were issued with. */
export function BillingDetailsForm({ organizationId, details }: { organizationId: string; details: BillingDetails }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<PartyDraft>(() => draftOf(details));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // The saved details come back from the server (trimmed, upper-cased): the form shows them.
  useEffect(() => setDraft(draftOf(details)), [details]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await billingApi.setDetails(organizationId, partyOf(draft));
      await queryClient.invalidateQueries({ queryKey: billingKeys.view(organizationId) });
      toast.success('The billing details are saved.');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-label="Billing details" id="billing-details">
      <header className="card-header">
        <div>
          <h2>
            Billing details{' '}
            {details.saved ? null : (
              <Badge tone="amber">
                <span data-testid="details-unsaved">not saved yet</span>
              </Badge>
            )}
          </h2>
          <p className="card-subtitle">
            Printed on every invoice from now on; invoices already issued keep the details they were issued with.
          </p>
        </div>
      </header>
      <div className="card-body">
        <form className="form billing-form" onSubmit={submit} noValidate aria-label="Billing details">
          <FormError error={error} fields={namesShownInline(error, PREFIXES)} />
          <PartyFields draft={draft} onChange={setDraft} errorOf={fieldErrorIn(error, PREFIXES)} />
          <div className="form-actions form-actions-start">
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save details'}
            </button>
          </div>
        </form>
      </div>
    </section>
  );
}
