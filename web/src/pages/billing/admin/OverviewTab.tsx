import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { errorMessage } from '../../../api/errors';
import { Alert } from '../../../components/Alert';
import { Badge } from '../../../components/Badge';
import { type Column, DataTable } from '../../../components/DataTable';
import { EmptyState, Loading } from '../../../components/EmptyState';
import { CheckIcon } from '../../../components/icons';
import { useToast } from '../../../components/Toast';
import { formatDate, formatDateTime } from '../../../format';
import { type Anomaly, billingKeys, type OpenInvoice, overviewQuery } from '../api';
import { providerLabel } from '../looks';
import { formatMinor, formatMinorText } from '../money';
import { CreditDialog, MarkPaidDialog } from './InvoiceDialogs';
import { MrrCharts } from './MrrCharts';

type Acting = { invoice: OpenInvoice; action: 'paid' | 'credit' };

function OpenInvoices({ invoices }: { invoices: OpenInvoice[] }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const [acting, setActing] = useState<Acting | null>(null);
  const done = (message: string) => {
    setActing(null);
    toast.success(message);
    void queryClient.invalidateQueries({ queryKey: billingKeys.overview });
  };
  const columns: Column<OpenInvoice>[] = [
    { header: 'Number', cell: (i) => <span className="row-title mono">{i.number}</span> },
    {
      header: 'Organization',
      cell: (i) => <Link to={`/organizations/${encodeURIComponent(i.organization.slug)}`}>{i.organization.name}</Link>,
    },
    { header: 'Issued', className: 'nowrap', cell: (i) => formatDate(i.issuedAt) },
    {
      header: 'Due',
      cell: (i) => (
        <span className="billing-status">
          {i.dueAt ? formatDate(i.dueAt) : '—'}
          {i.overdue ? (
            <span className="badge badge-red" data-overdue="true">
              Overdue
            </span>
          ) : null}
        </span>
      ),
    },
    { header: 'Total', className: 'billing-amount-cell', cell: (i) => formatMinor(i.totalMinor, i.currency) },
    {
      header: 'Actions',
      hiddenHeader: true,
      className: 'billing-actions-cell',
      cell: (i) => (
        <div className="row-actions">
          <button
            type="button"
            className="btn btn-small btn-secondary"
            aria-label={`Mark ${i.number} paid`}
            onClick={() => setActing({ invoice: i, action: 'paid' })}
          >
            Mark paid
          </button>
          <button
            type="button"
            className="btn btn-small btn-ghost"
            aria-label={`Credit note for ${i.number}`}
            onClick={() => setActing({ invoice: i, action: 'credit' })}
          >
            Credit note
          </button>
        </div>
      ),
    },
  ];
  const overdue = invoices.filter((i) => i.overdue).length;
  return (
    <section className="card card-flush" aria-label="Open invoices">
      <header className="card-header">
        <div>
          <h2>Open invoices {overdue > 0 ? <Badge tone="red">{overdue} overdue</Badge> : null}</h2>
          <p className="card-subtitle">Unpaid invoices, the earliest due first. A bank transfer is recorded here.</p>
        </div>
      </header>
      <DataTable
        label="Open invoices"
        columns={columns}
        rows={invoices}
        rowKey={(i) => i.id}
        rowProps={(i) => ({
          'data-invoice': i.number,
          'data-overdue': i.overdue ? 'true' : undefined,
          className: i.overdue ? 'billing-row-overdue' : undefined,
        })}
        empty={
          <EmptyState icon={<CheckIcon width={28} height={28} />} title="Nothing is owed">
            <p>Every invoice is paid or credited.</p>
          </EmptyState>
        }
      />
      {acting?.action === 'paid' ? (
        <MarkPaidDialog invoice={acting.invoice} onClose={() => setActing(null)} onDone={done} />
      ) : null}
      {acting?.action === 'credit' ? (
        <CreditDialog invoice={acting.invoice} onClose={() => setActing(null)} onDone={done} />
      ) : null}
    </section>
  );
}

const anomalyWords: Record<string, string> = {
  amount_mismatch: 'Amount does not match',
  unknown_reference: 'Unknown reference',
  currency_mismatch: 'Currency does not match',
};

/** A provider's report: its amount as money when it has one, the rest as short JSON (its shape is the provider's). */
function compact(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value !== 'object' || Array.isArray(value)) return JSON.stringify(value);
  const { amountMinor, currency, ...rest } = value as Record<string, unknown>;
  const amount =
    typeof amountMinor === 'string' && typeof currency === 'string'
      ? formatMinorText(amountMinor, currency)
      : undefined;
  if (amount === undefined) return JSON.stringify(value);
  return Object.keys(rest).length > 0 ? `${amount} ${JSON.stringify(rest)}` : amount;
}

function Anomalies({ anomalies }: { anomalies: Anomaly[] }) {
  const columns: Column<Anomaly>[] = [
    { header: 'When', className: 'nowrap', cell: (a) => formatDateTime(a.at) },
    { header: 'Provider', cell: (a) => providerLabel[a.provider] ?? a.provider },
    { header: 'What', cell: (a) => <Badge tone="amber">{anomalyWords[a.kind] ?? a.kind}</Badge> },
    { header: 'Reference', cell: (a) => <span className="mono billing-wrap">{a.reference}</span> },
    { header: 'Expected', cell: (a) => <code className="billing-json">{compact(a.expected)}</code> },
    { header: 'Received', cell: (a) => <code className="billing-json">{compact(a.received)}</code> },
  ];
  return (
    <section className="card card-flush" aria-label="Payments that did not match">
      <header className="card-header">
        <div>
          <h2>Payments that did not match</h2>
          <p className="card-subtitle">
            Refused: nothing was marked paid. Check them with the provider, then record or refund by hand.
          </p>
        </div>
      </header>
      <DataTable
        label="Payments that did not match"
        columns={columns}
        rows={anomalies}
        rowKey={(a) => a.id}
        rowProps={(a) => ({ 'data-anomaly': a.kind })}
        empty={<p className="card-body muted">None: every payment matched its invoice.</p>}
      />
    </section>
  );
}

/** Revenue, what is owed, and what did not add up. */
export function OverviewTab() {
  const overview = useQuery(overviewQuery());
  if (overview.error) return <Alert kind="error">{errorMessage(overview.error)}</Alert>;
  if (!overview.data) return <Loading />;
  const { mrr, open, anomalies } = overview.data;
  return (
    <div className="card-stack">
      <section aria-label="Monthly recurring revenue">
        <div className="section-head">
          <h2>Monthly recurring revenue</h2>
          <span className="muted">Paid periods, per month; a yearly one counts a twelfth a month.</span>
        </div>
        <MrrCharts mrr={mrr} />
      </section>
      <OpenInvoices invoices={open} />
      <Anomalies anomalies={anomalies} />
    </div>
  );
}
