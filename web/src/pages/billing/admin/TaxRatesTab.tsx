import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiError, errorMessage } from '../../../api/errors';
import { Alert } from '../../../components/Alert';
import { ConfirmDialog } from '../../../components/ConfirmDialog';
import { type Column, DataTable } from '../../../components/DataTable';
import { EmptyState, Loading } from '../../../components/EmptyState';
import { Field } from '../../../components/Field';
import { PlusIcon } from '../../../components/icons';
import { Modal } from '../../../components/Modal';
import { useToast } from '../../../components/Toast';
import { billingAdminApi, billingKeys, type TaxRate, taxRatesQuery } from '../api';
import { basisPointsFromPercent, formatRate, percentFromBasisPoints } from '../money';

/** Add a country's rate, or change one: the rate typed in percent, sent in basis points (1500 = 15 %). */
function TaxRateDialog({ rate, onClose }: { rate: TaxRate | null; onClose(): void }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const [country, setCountry] = useState(rate?.country ?? '');
  const [name, setName] = useState(rate?.name ?? 'VAT');
  const [percent, setPercent] = useState(rate ? percentFromBasisPoints(rate.rateBasisPoints) : '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const errors = error instanceof ApiError ? error.fieldErrors : {};

  async function save(event: FormEvent) {
    event.preventDefault();
    const rateBasisPoints = basisPointsFromPercent(percent);
    if (rateBasisPoints === undefined) {
      const issue = { field: 'rate', message: 'A percent from 0 to 100, with at most two decimals: 15 or 15.5.' };
      setError(new ApiError(400, 'MARINA_E_VALIDATION', issue.message, { issues: [issue] }));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await billingAdminApi.setTaxRate(country.trim().toUpperCase(), {
        name: name.trim(),
        rateBasisPoints,
      });
      queryClient.setQueryData(billingKeys.taxRates, answer.taxRates);
      toast.success(`${country.toUpperCase()} is taxed at ${formatRate(rateBasisPoints)} from now on.`);
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const named = Object.keys(errors);
  const inline = named.length > 0 && named.every((f) => ['country', 'name', 'rate', 'rateBasisPoints'].includes(f));
  return (
    <Modal
      title={rate ? `Tax rate for ${rate.country}` : 'Add a tax rate'}
      description="Applies to invoices issued from now on to buyers in the country; issued ones keep their tax."
      onClose={onClose}
    >
      <form className="form" onSubmit={save} noValidate aria-label="Tax rate">
        <div className="form-grid">
          <Field label="Country" hint="Two letters: ZW, ZA, US." error={errors.country}>
            {(props) => (
              <input
                {...props}
                className="mono billing-country"
                maxLength={2}
                readOnly={rate !== null}
                value={country}
                onChange={(e) => setCountry(e.target.value.toUpperCase())}
              />
            )}
          </Field>
          <Field label="Name" hint="As printed: VAT, GST, Sales tax." error={errors.name}>
            {(props) => <input {...props} maxLength={40} value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
        </div>
        <Field label="Rate (%)" hint="15.5 is 15.5 %." error={errors.rate ?? errors.rateBasisPoints}>
          {(props) => (
            <input
              {...props}
              className="mono"
              inputMode="decimal"
              value={percent}
              onChange={(e) => setPercent(e.target.value)}
            />
          )}
        </Field>
        {error && !inline ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save rate'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Tax rates by the buyer's country; a country without one is taxed at 0. */
export function TaxRatesTab() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const rates = useQuery(taxRatesQuery());
  const [editing, setEditing] = useState<TaxRate | 'new' | null>(null);
  const [removing, setRemoving] = useState<TaxRate | null>(null);
  const regions = new Intl.DisplayNames(['en'], { type: 'region' });
  const columns: Column<TaxRate>[] = [
    {
      header: 'Country',
      cell: (r) => (
        <span>
          <span className="mono">{r.country}</span> <span className="muted">{regions.of(r.country)}</span>
        </span>
      ),
    },
    { header: 'Name', cell: (r) => r.name },
    { header: 'Rate', className: 'billing-amount-cell', cell: (r) => formatRate(r.rateBasisPoints) },
    {
      header: 'Actions',
      hiddenHeader: true,
      className: 'billing-actions-cell',
      cell: (r) => (
        <div className="row-actions">
          <button
            type="button"
            className="btn btn-small btn-secondary"
            aria-label={`Edit ${r.country}`}
            onClick={() => setEditing(r)}
          >
            Edit
          </button>
          <button
            type="button"
            className="btn btn-small btn-danger-text"
            aria-label={`Remove ${r.country}`}
            onClick={() => setRemoving(r)}
          >
            Remove
          </button>
        </div>
      ),
    },
  ];
  return (
    <section className="card card-flush" aria-label="Tax rates">
      <header className="card-header">
        <div>
          <h2>Tax rates</h2>
          <p className="card-subtitle">By the buyer’s country, as in their billing details.</p>
        </div>
        <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>
          <PlusIcon />
          Add tax rate
        </button>
      </header>
      {rates.error ? <Alert kind="error">{errorMessage(rates.error)}</Alert> : null}
      {rates.isPending ? <Loading /> : null}
      {rates.data ? (
        <DataTable
          label="Tax rates"
          columns={columns}
          rows={rates.data}
          rowKey={(r) => r.country}
          rowProps={(r) => ({ 'data-country': r.country })}
          empty={
            <EmptyState title="No tax rate">
              Every buyer is taxed at 0 until a rate is set for their country.
            </EmptyState>
          }
        />
      ) : null}
      {editing ? <TaxRateDialog rate={editing === 'new' ? null : editing} onClose={() => setEditing(null)} /> : null}
      {removing ? (
        <ConfirmDialog
          title={`Remove the tax rate of ${removing.country}?`}
          confirmLabel="Remove"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            const answer = await billingAdminApi.removeTaxRate(removing.country);
            queryClient.setQueryData(billingKeys.taxRates, answer.taxRates);
            toast.success(`${removing.country} is taxed at 0 from now on.`);
          }}
        >
          <p>
            Invoices issued from now on to buyers in {removing.country} carry no {removing.name}. Issued invoices keep
            theirs.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
