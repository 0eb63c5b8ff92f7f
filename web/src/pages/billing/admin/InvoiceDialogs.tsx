import { type FormEvent, type ReactNode, useState } from 'react';
import { ApiError, errorMessage } from '../../../api/errors';
import { Alert } from '../../../components/Alert';
import { Field } from '../../../components/Field';
import { Modal } from '../../../components/Modal';
import { billingAdminApi, type OpenInvoice } from '../api';
import { formatMinor, minorDigits, minorFromText } from '../money';

/** A dialog's form: its fields, the API's error (inline when it names a field), Cancel and the action. */
function DialogForm({
  title,
  description,
  label,
  busy,
  error,
  fields,
  onSubmit,
  onClose,
  children,
}: {
  title: string;
  description: ReactNode;
  label: string;
  busy: boolean;
  error: unknown;
  fields: string[];
  onSubmit(): void;
  onClose(): void;
  children: ReactNode;
}) {
  const named = error instanceof ApiError ? Object.keys(error.fieldErrors) : [];
  const inline = named.length > 0 && named.every((f) => fields.includes(f));
  return (
    <Modal title={title} description={description} onClose={onClose}>
      <form
        className="form"
        noValidate
        aria-label={title}
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          onSubmit();
        }}
      >
        {children}
        {error && !inline ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Working…' : label}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Runs the call, keeps the dialog open with the error when it fails. */
function useSubmit(onDone: (message: string) => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function run(work: () => Promise<string>) {
    setBusy(true);
    setError(null);
    try {
      onDone(await work());
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }
  return { busy, error, setError, run };
}

const fieldError = (error: unknown, name: string) => (error instanceof ApiError ? error.fieldErrors[name] : undefined);

/** A bank transfer recorded by hand: the note says how it was paid (audited); the reference is the bank's. */
export function MarkPaidDialog({
  invoice,
  onClose,
  onDone,
}: {
  invoice: OpenInvoice;
  onClose(): void;
  onDone(message: string): void;
}) {
  const [note, setNote] = useState('');
  const [reference, setReference] = useState('');
  const { busy, error, run } = useSubmit(onDone);
  const amount = formatMinor(invoice.totalMinor, invoice.currency);
  return (
    <DialogForm
      title={`Mark ${invoice.number} paid`}
      description={`${invoice.organization.name}: ${amount}. The subscription is renewed or resumed at once, and the owners are mailed a receipt.`}
      label="Mark paid"
      busy={busy}
      error={error}
      fields={['note', 'reference']}
      onClose={onClose}
      onSubmit={() =>
        void run(async () => {
          const body = { note: note.trim(), ...(reference.trim() ? { reference: reference.trim() } : {}) };
          await billingAdminApi.markPaid(invoice.id, body);
          return `${invoice.number} is recorded as paid.`;
        })
      }
    >
      <Field label="Note" hint="How it was paid: kept in the audit log." error={fieldError(error, 'note')}>
        {(props) => (
          <textarea {...props} rows={2} maxLength={500} value={note} onChange={(e) => setNote(e.target.value)} />
        )}
      </Field>
      <Field
        label="Reference"
        hint="The bank’s reference of the transfer."
        error={fieldError(error, 'reference')}
        optional
      >
        {(props) => (
          <input {...props} maxLength={100} value={reference} onChange={(e) => setReference(e.target.value)} />
        )}
      </Field>
    </DialogForm>
  );
}

/** A credit note: everything still owed (an open invoice), or an amount before tax (a refund, a goodwill). */
export function CreditDialog({
  invoice,
  onClose,
  onDone,
}: {
  invoice: OpenInvoice;
  onClose(): void;
  onDone(message: string): void;
}) {
  const [reason, setReason] = useState('');
  const [amount, setAmount] = useState('');
  const { busy, error, setError, run } = useSubmit(onDone);
  const digits = minorDigits(invoice.currency);
  const example = digits === 0 ? '500' : `10.${'0'.repeat(digits)}`;

  function submit() {
    const typed = amount.trim();
    const amountMinor = typed === '' ? undefined : minorFromText(typed, invoice.currency);
    if (typed !== '' && (amountMinor === undefined || amountMinor <= 0)) {
      const issue = { field: 'amountMinor', message: `An amount in ${invoice.currency} such as ${example}.` };
      setError(new ApiError(400, 'MARINA_E_VALIDATION', issue.message, { issues: [issue] }));
      return;
    }
    void run(async () => {
      const { creditNote } = await billingAdminApi.credit(invoice.id, {
        reason: reason.trim(),
        ...(amountMinor === undefined ? {} : { amountMinor }),
      });
      return `Credit note ${creditNote.number} issued against ${invoice.number}.`;
    });
  }

  return (
    <DialogForm
      title={`Credit note for ${invoice.number}`}
      description={`${invoice.organization.name}: ${formatMinor(invoice.totalMinor, invoice.currency)}. The invoice itself never changes; it owes less, and nothing once credited in full.`}
      label="Issue credit note"
      busy={busy}
      error={error}
      fields={['reason', 'amountMinor']}
      onClose={onClose}
      onSubmit={submit}
    >
      <Field label="Reason" hint="Printed on the credit note." error={fieldError(error, 'reason')}>
        {(props) => <input {...props} maxLength={200} value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
      <Field
        label={`Amount (${invoice.currency}, before tax)`}
        hint="Empty: everything still owed. The invoice’s tax is added."
        error={fieldError(error, 'amountMinor')}
        optional
      >
        {(props) => (
          <input
            {...props}
            className="mono"
            inputMode="decimal"
            placeholder={example}
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
          />
        )}
      </Field>
    </DialogForm>
  );
}
