import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { ChoiceCard } from '../../components/ChoiceCard';
import { Loading } from '../../components/EmptyState';
import {
  type BillingSubscription,
  billingApi,
  billingKeys,
  type Invoice,
  type PublicPlan,
  publicPlansQuery,
} from './api';
import { formatMinor } from './money';

type Period = 'month' | 'year';

const priceOf = (plan: PublicPlan, currency: string, period: Period) =>
  plan.prices.find((p) => p.currency === currency && p.period === period && p.amountMinor > 0);

/** The currencies the plans are sold in; the subscription's own first, then USD (the providers' common one). */
function currenciesOf(plans: PublicPlan[], preferred: string | null): string[] {
  const all = [...new Set(plans.flatMap((p) => p.prices.filter((x) => x.amountMinor > 0).map((x) => x.currency)))];
  const rank = (c: string) => (c === preferred ? 0 : c === 'USD' ? 1 : 2);
  return all.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/**
 * A trial (or a trial that ended) picks a paid plan, a currency and monthly or yearly: the first
 * invoice is issued and paid in the next step. After a trial ended only the plan tried is offered
 * (the API refuses another: a plan change then goes through the provider).
 */
export function ChoosePlan({
  organizationId,
  subscription,
  trialEnded,
  detailsSaved,
  onInvoice,
}: {
  organizationId: string;
  subscription: BillingSubscription;
  trialEnded: boolean;
  detailsSaved: boolean;
  onInvoice(invoice: Invoice): void;
}) {
  const queryClient = useQueryClient();
  const plans = useQuery(publicPlansQuery());
  const offered = (plans.data ?? []).filter((p) => !trialEnded || p.id === subscription.planId);
  const currencies = currenciesOf(offered, subscription.currency);
  const [currency, setCurrency] = useState<string | null>(null);
  const [period, setPeriod] = useState<Period>('month');
  const [planId, setPlanId] = useState<string>(subscription.planId);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const chosenCurrency = currency ?? currencies[0] ?? 'USD';
  const chosen = offered.find((p) => p.id === planId);
  const price = chosen ? priceOf(chosen, chosenCurrency, period) : undefined;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!chosen || !price) return;
    setBusy(true);
    setError(null);
    try {
      const { invoice } = await billingApi.checkout(organizationId, {
        planId: chosen.id,
        currency: chosenCurrency,
        period,
      });
      await queryClient.invalidateQueries({ queryKey: billingKeys.view(organizationId) });
      onInvoice(invoice);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-label="Choose a paid plan">
      <header className="card-header">
        <div>
          <h2>Choose a paid plan</h2>
          <p className="card-subtitle">
            {trialEnded
              ? 'Your trial has ended: pay for the plan you tried and your instances start again.'
              : 'Keep everything you set up during the trial: the plan starts as soon as its first invoice is paid.'}
          </p>
        </div>
      </header>
      <div className="card-body">
        {plans.error ? <Alert kind="error">{errorMessage(plans.error)}</Alert> : null}
        {plans.isPending ? <Loading label="Loading the plans…" /> : null}
        {plans.data && offered.length === 0 ? (
          <p className="muted">No plan is offered at the moment: ask your provider.</p>
        ) : null}
        {offered.length > 0 ? (
          <form className="form" onSubmit={submit} aria-label="Choose a paid plan">
            {detailsSaved ? null : (
              <Alert kind="info">
                The invoice is made out to your billing details: save them first, or it carries the organization’s name
                only.
              </Alert>
            )}
            <div className="billing-choice-bar">
              <label className="billing-inline-field">
                <span>Currency</span>
                <select value={chosenCurrency} onChange={(e) => setCurrency(e.target.value)}>
                  {currencies.map((c) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </select>
              </label>
              <fieldset className="billing-segmented" aria-label="Billed">
                {(['month', 'year'] as const).map((p) => (
                  <label key={p} className={period === p ? 'active' : undefined}>
                    <input type="radio" name="period" value={p} checked={period === p} onChange={() => setPeriod(p)} />
                    {p === 'month' ? 'Monthly' : 'Yearly'}
                  </label>
                ))}
              </fieldset>
            </div>
            <fieldset className="choice-group">
              <legend>Plan</legend>
              <div className="choice-grid billing-plans">
                {offered.map((plan) => {
                  const p = priceOf(plan, chosenCurrency, period);
                  return (
                    <ChoiceCard
                      key={plan.id}
                      name="plan"
                      value={plan.id}
                      checked={plan.id === planId}
                      onChange={() => setPlanId(plan.id)}
                      disabled={!p}
                      title={
                        <span className="billing-plan-title" data-plan={plan.slug}>
                          <span>{plan.name}</span>
                          <span className="billing-price">
                            {p
                              ? `${formatMinor(p.amountMinor, chosenCurrency)} / ${period}`
                              : `not sold ${period === 'month' ? 'monthly' : 'yearly'} in ${chosenCurrency}`}
                          </span>
                        </span>
                      }
                      hint={
                        <>
                          {plan.id === subscription.planId ? <strong>Your plan now. </strong> : null}
                          {plan.description || null}
                        </>
                      }
                    />
                  );
                })}
              </div>
            </fieldset>
            {error ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
            <div className="form-actions form-actions-start">
              <button type="submit" className="btn btn-primary" disabled={busy || !price}>
                {busy ? 'Issuing the invoice…' : 'Continue to payment'}
              </button>
              {chosen && price ? (
                <span className="muted billing-choice-note">
                  {chosen.name}, {formatMinor(price.amountMinor, chosenCurrency)} a {period} before tax
                </span>
              ) : null}
            </div>
          </form>
        ) : null}
      </div>
    </section>
  );
}
