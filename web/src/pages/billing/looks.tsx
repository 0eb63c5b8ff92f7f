import { Badge, type BadgeTone } from '../../components/Badge';
import type { Invoice } from './api';

/* How billing states read: the same words and colours on the owner's page and the admin's. */

const subscriptionLooks: Record<string, { label: string; tone: BadgeTone }> = {
  trialing: { label: 'Trial', tone: 'blue' },
  active: { label: 'Active', tone: 'green' },
  past_due: { label: 'Past due', tone: 'amber' },
  suspended: { label: 'Suspended', tone: 'red' },
  cancelled: { label: 'Cancelled', tone: 'gray' },
};

export function SubscriptionBadge({ status }: { status: string }) {
  const look = subscriptionLooks[status] ?? { label: status, tone: 'gray' as const };
  return (
    <span className={`badge badge-${look.tone}`} data-testid="subscription-status" data-status={status}>
      {look.label}
    </span>
  );
}

const invoiceLooks: Record<string, { label: string; tone: BadgeTone }> = {
  open: { label: 'Open', tone: 'amber' },
  paid: { label: 'Paid', tone: 'green' },
  credited: { label: 'Credited', tone: 'gray' },
  issued: { label: 'Credit note', tone: 'violet' },
};

/** An invoice's status; an open one past its due date says so in red. */
export function InvoiceStatusBadge({ invoice }: { invoice: Pick<Invoice, 'status' | 'overdue'> }) {
  const look = invoiceLooks[invoice.status] ?? { label: invoice.status, tone: 'gray' as const };
  return (
    <span className="billing-status" data-invoice-status={invoice.status}>
      <Badge tone={look.tone}>{look.label}</Badge>
      {invoice.overdue ? (
        <span className="badge badge-red" data-overdue="true">
          Overdue
        </span>
      ) : null}
    </span>
  );
}

export const periodWord = (period: string | null) =>
  period === 'year' ? 'yearly' : period === 'month' ? 'monthly' : null;

export const providerLabel: Record<string, string> = { stripe: 'Stripe', paynow: 'Paynow', manual: 'bank transfer' };
