import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Modal } from '../../components/Modal';
import { ProgressBar } from '../../components/ProgressBar';
import { billingApi, type Invoice, type PayInput, paymentQuery } from './api';
import { formatMinor } from './money';
import { useRefreshBilling } from './refresh';

type Mobile = 'ecocash' | 'onemoney';
const mobileLabel: Record<Mobile, string> = { ecocash: 'EcoCash', onemoney: 'OneMoney' };

/** Words for a payment that ended without paying. */
const endedWhy: Record<string, string> = {
  cancelled: 'The payment was cancelled on the phone.',
  failed: 'The payment failed.',
  timed_out: 'The payment was not approved in time.',
};

/** A wallet payment under way: Paynow's instructions, then its state every 2 s until it settles. */
function MobileProgress({
  organizationId,
  paymentId,
  instructions,
  onRetry,
  onClose,
}: {
  organizationId: string;
  paymentId: string;
  instructions: string | null;
  onRetry(): void;
  onClose(): void;
}) {
  const payment = useQuery(paymentQuery(organizationId, paymentId));
  const refresh = useRefreshBilling(organizationId);
  const status = payment.data?.status;
  useEffect(() => {
    if (status && status !== 'pending') void refresh();
  }, [status, refresh]);
  if (status === 'paid') {
    return (
      <div className="billing-pay-result" data-payment-status="paid">
        <Alert kind="success" title="Paid">
          Invoice {payment.data?.invoice.number} is paid. Thank you!
        </Alert>
        <div className="form-actions">
          <button type="button" className="btn btn-primary" onClick={onClose}>
            Done
          </button>
        </div>
      </div>
    );
  }
  if (status && status !== 'pending') {
    return (
      <div className="billing-pay-result" data-payment-status={status}>
        <Alert kind="error" title={endedWhy[status] ?? `The payment is ${status}.`}>
          {payment.data?.error ? `Paynow said: ${payment.data.error}` : 'Nothing was charged; you can try again.'}
        </Alert>
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Close
          </button>
          <button type="button" className="btn btn-primary" onClick={onRetry}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  return (
    <div className="billing-pay-waiting" data-payment-status="pending" data-testid="payment-waiting">
      <Alert kind="info" title="Approve the payment on your phone">
        {instructions ?? 'A prompt was sent to the phone: approve it with your PIN.'}
      </Alert>
      <ProgressBar value={100} active label="Waiting for the payment" testId="payment-progress" />
      <p className="muted billing-pay-note">
        Waiting for the payment… this page checks every 2 seconds; it may take a minute.
        {payment.error ? ` (${errorMessage(payment.error)})` : ''}
      </p>
    </div>
  );
}

/**
 * Paying one open invoice with the providers its currency offers: Stripe (a card, on Stripe's page),
 * Paynow's page, or a wallet prompt (EcoCash, OneMoney) on the payer's phone, followed here.
 */
export function PayDialog({
  organizationId,
  invoice,
  providers,
  onClose,
}: {
  organizationId: string;
  invoice: Invoice;
  providers: string[];
  onClose(): void;
}) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [phone, setPhone] = useState('');
  const [mobile, setMobile] = useState<{ paymentId: string; instructions: string | null } | null>(null);

  async function pay(body: PayInput) {
    setBusy(body.method ?? body.provider);
    setError(null);
    try {
      const answer = await billingApi.pay(organizationId, invoice.id, body);
      // Stripe's and Paynow's own pages; they send the payer back to this page (?paid= or ?payment=).
      if (answer.redirectUrl) {
        window.location.assign(answer.redirectUrl);
        return;
      }
      setMobile({ paymentId: answer.paymentId, instructions: answer.instructions });
      setBusy(null);
    } catch (caught) {
      setError(caught);
      setBusy(null);
    }
  }

  // The invoice as the list has it now: once paid, what it came to rather than "0.00 due".
  const description =
    invoice.status === 'open'
      ? `${formatMinor(invoice.amountDueMinor, invoice.currency)} due.`
      : `${formatMinor(invoice.totalMinor, invoice.currency)}, ${invoice.status}.`;
  return (
    <Modal title={`Pay ${invoice.number}`} description={description} onClose={onClose}>
      {mobile ? (
        <MobileProgress
          organizationId={organizationId}
          paymentId={mobile.paymentId}
          instructions={mobile.instructions}
          onRetry={() => setMobile(null)}
          onClose={onClose}
        />
      ) : (
        <div className="billing-pay" data-testid="pay-options">
          {providers.length === 0 ? (
            <Alert kind="info">
              No online payment is set up for {invoice.currency}: pay by bank transfer as the invoice says, and your
              provider records it.
            </Alert>
          ) : null}
          {providers.includes('stripe') ? (
            <div className="billing-pay-option">
              <button
                type="button"
                className="btn btn-primary"
                disabled={busy !== null}
                onClick={() => void pay({ provider: 'stripe' })}
              >
                {busy === 'stripe' ? 'Opening Stripe…' : 'Pay by card (Stripe)'}
              </button>
              <span className="muted">On Stripe’s secure page; you come back here after.</span>
            </div>
          ) : null}
          {providers.includes('paynow') ? (
            <>
              <div className="billing-pay-option">
                <button
                  type="button"
                  className="btn btn-secondary"
                  disabled={busy !== null}
                  onClick={() => void pay({ provider: 'paynow', method: 'web' })}
                >
                  {busy === 'web' ? 'Opening Paynow…' : 'Pay on Paynow'}
                </button>
                <span className="muted">Paynow’s page: cards, EcoCash, OneMoney and more.</span>
              </div>
              <fieldset className="billing-mobile">
                <legend>Mobile money</legend>
                <label className="billing-inline-field">
                  <span>Phone number</span>
                  <input
                    type="tel"
                    inputMode="tel"
                    autoComplete="tel"
                    placeholder="0771234567"
                    maxLength={20}
                    value={phone}
                    onChange={(e) => setPhone(e.target.value)}
                  />
                </label>
                <div className="billing-mobile-buttons">
                  {(['ecocash', 'onemoney'] as const).map((method) => (
                    <button
                      key={method}
                      type="button"
                      className="btn btn-secondary"
                      disabled={busy !== null || phone.trim() === ''}
                      onClick={() => void pay({ provider: 'paynow', method, phone: phone.trim() })}
                    >
                      {busy === method ? 'Sending the prompt…' : mobileLabel[method]}
                    </button>
                  ))}
                </div>
              </fieldset>
            </>
          ) : null}
          {error ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
        </div>
      )}
    </Modal>
  );
}
