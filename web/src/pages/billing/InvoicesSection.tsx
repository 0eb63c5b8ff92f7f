import { type Column, DataTable } from '../../components/DataTable';
import { EmptyState } from '../../components/EmptyState';
import { DownloadIcon, FileZipIcon } from '../../components/icons';
import { formatDate } from '../../format';
import { type Invoice, pdfUrl } from './api';
import { InvoiceStatusBadge, providerLabel } from './looks';
import { formatMinor } from './money';

/** Only an open invoice that still owes something is paid (a credit note never is). */
export const payable = (invoice: Invoice) =>
  invoice.kind === 'invoice' && invoice.status === 'open' && invoice.amountDueMinor > 0;

function NumberCell({ invoice }: { invoice: Invoice }) {
  return (
    <div>
      <span className="row-title mono">{invoice.number}</span>
      {invoice.kind === 'credit_note' ? (
        <div className="muted billing-sub">credits {invoice.credits ?? 'an invoice'}</div>
      ) : null}
    </div>
  );
}

function TotalCell({ invoice }: { invoice: Invoice }) {
  const partly = invoice.status === 'open' && invoice.amountDueMinor !== invoice.totalMinor;
  return (
    <div className="billing-amount">
      <span data-testid="invoice-total">{formatMinor(invoice.totalMinor, invoice.currency)}</span>
      {partly ? (
        <div className="muted billing-sub">{formatMinor(invoice.amountDueMinor, invoice.currency)} still due</div>
      ) : null}
    </div>
  );
}

function StatusCell({ invoice }: { invoice: Invoice }) {
  return (
    <div className="status-cell">
      <InvoiceStatusBadge invoice={invoice} />
      {invoice.status === 'paid' && invoice.paidAt ? (
        <span className="muted billing-sub">
          {formatDate(invoice.paidAt)}
          {invoice.paidVia ? ` · ${providerLabel[invoice.paidVia] ?? invoice.paidVia}` : ''}
        </span>
      ) : null}
      {invoice.status === 'open' && invoice.dueAt ? (
        <span className={invoice.overdue ? 'billing-sub billing-overdue' : 'muted billing-sub'}>
          due {formatDate(invoice.dueAt)}
        </span>
      ) : null}
    </div>
  );
}

/** The organization's invoices and credit notes, newest first: each as a PDF, the open ones paid here. */
export function InvoicesSection({
  organizationId,
  invoices,
  onPay,
}: {
  organizationId: string;
  invoices: Invoice[];
  onPay(invoice: Invoice): void;
}) {
  const columns: Column<Invoice>[] = [
    { header: 'Number', cell: (i) => <NumberCell invoice={i} /> },
    { header: 'Issued', className: 'nowrap', cell: (i) => formatDate(i.issuedAt) },
    {
      header: 'Period',
      cell: (i) => (i.periodStart && i.periodEnd ? `${formatDate(i.periodStart)} – ${formatDate(i.periodEnd)}` : '—'),
    },
    { header: 'Total', className: 'billing-amount-cell', cell: (i) => <TotalCell invoice={i} /> },
    { header: 'Status', cell: (i) => <StatusCell invoice={i} /> },
    {
      header: 'Actions',
      hiddenHeader: true,
      className: 'billing-actions-cell',
      cell: (i) => (
        <div className="row-actions">
          <a
            className="btn btn-small btn-ghost"
            href={pdfUrl(organizationId, i.id)}
            download={`${i.number}.pdf`}
            aria-label={`Download PDF of ${i.number}`}
          >
            <DownloadIcon />
            Download PDF
          </a>
          {payable(i) ? (
            <button
              type="button"
              className="btn btn-small btn-primary"
              aria-label={`Pay ${i.number}`}
              onClick={() => onPay(i)}
            >
              Pay
            </button>
          ) : null}
        </div>
      ),
    },
  ];
  return (
    <section className="card card-flush" aria-label="Invoices">
      <header className="card-header">
        <div>
          <h2>Invoices</h2>
          <p className="card-subtitle">Issued at each period’s start; corrections come as credit notes.</p>
        </div>
      </header>
      <DataTable
        label="Invoices"
        columns={columns}
        rows={invoices}
        rowKey={(i) => i.id}
        rowProps={(i) => ({
          'data-invoice': i.number,
          'data-status': i.status,
          'data-overdue': i.overdue ? 'true' : undefined,
          className: i.overdue ? 'billing-row-overdue' : undefined,
        })}
        empty={
          <EmptyState icon={<FileZipIcon width={28} height={28} />} title="No invoices yet">
            <p>The first one is issued when a paid plan starts.</p>
          </EmptyState>
        }
      />
    </section>
  );
}
