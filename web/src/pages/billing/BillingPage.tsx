import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router-dom';
import { errorMessage } from '../../api/errors';
import { organizationQuery } from '../../api/queries';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/EmptyState';
import { ExternalIcon } from '../../components/icons';
import { PageHeader } from '../../components/PageHeader';
import { UsageBars } from '../../components/UsageBars';
import { useCan } from '../../session/permissions';
import { usageQuery } from '../plans/api';
import { type BillingView, billingApi, billingQuery, type Invoice } from './api';
import { BillingDetailsForm } from './BillingDetailsForm';
import { ChoosePlan } from './ChoosePlan';
import { InvoicesSection } from './InvoicesSection';
import { PayDialog } from './PayDialog';
import { ReturnBanner } from './ReturnBanner';
import { SubscriptionSummary } from './SubscriptionSummary';
import '../../styles/portal.css';
import '../../styles/billing.css';

/** Stripe's customer portal (saved cards, receipts): for an organization that paid with Stripe. */
function ManageCards({ organizationId }: { organizationId: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function open() {
    setBusy(true);
    setError(null);
    try {
      window.location.assign((await billingApi.portal(organizationId)).url);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }
  return (
    <div className="billing-portal">
      <button type="button" className="btn btn-secondary" disabled={busy} onClick={() => void open()}>
        <ExternalIcon />
        {busy ? 'Opening Stripe…' : 'Manage cards (Stripe)'}
      </button>
      {error ? <span className="field-error">{errorMessage(error)}</span> : null}
    </div>
  );
}

/** The page's sections for the organization's billing, in the order an owner needs them. */
function BillingSections({ organizationId, view }: { organizationId: string; view: BillingView }) {
  const usage = useQuery(usageQuery(organizationId));
  const [paying, setPaying] = useState<Invoice | null>(null);
  const sub = view.subscription;
  const suspendedKind = usage.data?.suspendedKind ?? null;
  const trialEnded = sub?.status === 'suspended' && suspendedKind === 'trial_ended';
  // A trial picks its paid plan here; afterwards each period's invoice is paid from the list.
  const choosing = sub !== null && (sub.status === 'trialing' || trialEnded);
  const details = <BillingDetailsForm organizationId={organizationId} details={view.details} />;
  // The invoice being paid as the list now has it: the dialog shows what is still due.
  const current = paying ? (view.invoices.find((i) => i.id === paying.id) ?? paying) : null;
  return (
    <>
      <ReturnBanner organizationId={organizationId} invoices={view.invoices} />
      <div className="billing-top">
        <SubscriptionSummary subscription={sub} suspendedKind={suspendedKind} />
        <UsageBars organizationId={organizationId} />
      </div>
      <div className="card-stack">
        {/* Before a first invoice the details come first: the invoice is made out to them. */}
        {choosing && !view.details.saved ? details : null}
        {choosing && sub ? (
          <ChoosePlan
            organizationId={organizationId}
            subscription={sub}
            trialEnded={trialEnded}
            detailsSaved={view.details.saved}
            onInvoice={setPaying}
          />
        ) : null}
        <InvoicesSection organizationId={organizationId} invoices={view.invoices} onPay={setPaying} />
        {choosing && !view.details.saved ? null : details}
      </div>
      {current ? (
        <PayDialog
          organizationId={organizationId}
          invoice={current}
          providers={view.providers[current.currency] ?? []}
          onClose={() => setPaying(null)}
        />
      ) : null}
    </>
  );
}

/** The owner's billing: the plan and its state, choosing a paid plan, invoices and paying them, the details. */
export function BillingPage() {
  const { slug = '' } = useParams();
  const org = useQuery(organizationQuery(slug));
  const allowed = useCan(org.data?.id, 'billing.manage');
  const view = useQuery({ ...billingQuery(org.data?.id ?? ''), enabled: Boolean(org.data && allowed) });
  if (org.error) return <Alert kind="error">{errorMessage(org.error)}</Alert>;
  if (!org.data) return <Loading />;
  if (!allowed) return <Alert kind="error">Only the organization's owners manage its billing.</Alert>;
  return (
    <>
      <PageHeader
        title="Billing"
        subtitle={`The plan, invoices and payments of ${org.data.name}.`}
        actions={view.data?.details.hasStripeCustomer ? <ManageCards organizationId={org.data.id} /> : null}
      />
      {view.error ? <Alert kind="error">{errorMessage(view.error)}</Alert> : null}
      {view.isPending && !view.error ? <Loading /> : null}
      {view.data ? <BillingSections organizationId={org.data.id} view={view.data} /> : null}
    </>
  );
}
