import { formatDate } from '../../format';
import type { BillingSubscription } from './api';
import { periodWord, SubscriptionBadge } from './looks';

/** What the organization is on: the plan, its state, when the period or the trial ends. */
export function SubscriptionSummary({
  subscription,
  suspendedKind,
}: {
  subscription: BillingSubscription | null;
  suspendedKind: string | null;
}) {
  if (!subscription) {
    return (
      <section className="card billing-summary" aria-label="Subscription">
        <div className="card-body muted">
          The organization has no plan yet: your provider gives it one. Nothing is invoiced until then.
        </div>
      </section>
    );
  }
  const s = subscription;
  const billed = periodWord(s.period);
  return (
    <section className="card billing-summary" aria-label="Subscription" data-testid="billing-summary">
      <dl className="billing-facts">
        <div>
          <dt>Plan</dt>
          <dd className="billing-plan" data-testid="billing-plan">
            {s.plan}
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>
            <SubscriptionBadge status={s.status} />
            {s.status === 'suspended' && suspendedKind === 'past_due' ? (
              <span className="billing-fact-note">until the overdue invoice is paid</span>
            ) : null}
            {s.status === 'past_due' ? (
              <span className="billing-fact-note">an invoice is overdue: pay it below to avoid a suspension</span>
            ) : null}
          </dd>
        </div>
        {s.status === 'trialing' || suspendedKind === 'trial_ended' ? (
          <div>
            <dt>{s.status === 'trialing' ? 'Trial ends' : 'Trial ended'}</dt>
            <dd data-testid="billing-trial-end">{s.trialEndsAt ? formatDate(s.trialEndsAt) : '—'}</dd>
          </div>
        ) : null}
        {s.currentPeriodEnd && s.status !== 'trialing' ? (
          <div>
            <dt>{s.status === 'active' ? 'Renews' : 'Period ends'}</dt>
            <dd data-testid="billing-period-end">{formatDate(s.currentPeriodEnd)}</dd>
          </div>
        ) : null}
        {s.currency && billed ? (
          <div>
            <dt>Billed</dt>
            <dd>
              {billed} in {s.currency}
            </dd>
          </div>
        ) : null}
      </dl>
    </section>
  );
}
