import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useInterval } from '../../live';
import { type Invoice, PAYMENT_POLL_MS, paymentQuery } from './api';
import { useRefreshBilling } from './refresh';

/** How long the page keeps asking after a return before it says the confirmation is late. */
const PATIENCE_MS = 3 * 60_000;

function Banner({
  kind,
  children,
  onDismiss,
}: {
  kind: 'success' | 'waiting' | 'error';
  children: ReactNode;
  onDismiss(): void;
}) {
  return (
    <div
      className={`billing-return billing-return-${kind}`}
      role="status"
      data-testid="payment-return"
      data-state={kind}
    >
      {kind === 'waiting' ? <span className="spinner" aria-hidden="true" /> : null}
      <span className="billing-return-text">{children}</span>
      <button type="button" className="icon-button" aria-label="Dismiss" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}

/** Back from Stripe (`?paid=<invoice>`): the webhook may come a moment after the payer; the list is asked again until it shows. */
function PaidReturn({
  organizationId,
  invoice,
  onDismiss,
}: {
  organizationId: string;
  invoice: Invoice | undefined;
  onDismiss(): void;
}) {
  const refresh = useRefreshBilling(organizationId);
  const [since] = useState(() => Date.now());
  const [late, setLate] = useState(false);
  const paid = invoice !== undefined && invoice.status !== 'open';
  useInterval(
    () => {
      if (Date.now() - since > PATIENCE_MS) setLate(true);
      else void refresh();
    },
    PAYMENT_POLL_MS,
    !paid && !late,
  );
  // Paid: the suspension banner and the usage follow at once.
  useEffect(() => {
    if (paid) void refresh();
  }, [paid, refresh]);
  const number = invoice?.number ?? 'the invoice';
  if (paid)
    return (
      <Banner kind="success" onDismiss={onDismiss}>
        Thank you: {number} is paid.
      </Banner>
    );
  return (
    <Banner kind={late ? 'error' : 'waiting'} onDismiss={onDismiss}>
      {late
        ? `The payment of ${number} is not confirmed yet. It shows here as soon as the provider confirms it; nothing is charged twice.`
        : `Confirming the payment of ${number} with the provider…`}
    </Banner>
  );
}

/** Back from Paynow's page (`?payment=<id>`): the payment is followed until it settles. */
function PaymentReturn({
  organizationId,
  paymentId,
  onDismiss,
}: {
  organizationId: string;
  paymentId: string;
  onDismiss(): void;
}) {
  const payment = useQuery(paymentQuery(organizationId, paymentId));
  const refresh = useRefreshBilling(organizationId);
  const status = payment.data?.status;
  const paid = status === 'paid' || payment.data?.invoice.status === 'paid';
  useEffect(() => {
    if (status && status !== 'pending') void refresh();
  }, [status, refresh]);
  if (payment.error)
    return (
      <Banner kind="error" onDismiss={onDismiss}>
        This payment is not found.
      </Banner>
    );
  const number = payment.data?.invoice.number ?? 'the invoice';
  if (paid)
    return (
      <Banner kind="success" onDismiss={onDismiss}>
        Thank you: {number} is paid.
      </Banner>
    );
  if (status && status !== 'pending')
    return (
      <Banner kind="error" onDismiss={onDismiss}>
        The payment of {number} was not made ({status.replace('_', ' ')}). You can try again below.
      </Banner>
    );
  return (
    <Banner kind="waiting" onDismiss={onDismiss}>
      Confirming the payment of {number} with Paynow…
    </Banner>
  );
}

/** What a provider's page sent the payer back with, said at the top of the page until dismissed. */
export function ReturnBanner({ organizationId, invoices }: { organizationId: string; invoices: Invoice[] }) {
  const [params, setParams] = useSearchParams();
  const paidId = params.get('paid');
  const paymentId = params.get('payment');
  const dismiss = () =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        next.delete('paid');
        next.delete('payment');
        return next;
      },
      { replace: true },
    );
  if (paymentId) return <PaymentReturn organizationId={organizationId} paymentId={paymentId} onDismiss={dismiss} />;
  if (paidId)
    return (
      <PaidReturn organizationId={organizationId} invoice={invoices.find((i) => i.id === paidId)} onDismiss={dismiss} />
    );
  return null;
}
