import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { ApiError } from '../../api/errors';
import { membersQuery } from '../../api/queries';
import type { Instance } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { Modal } from '../../components/Modal';
import { useToast } from '../../components/Toast';

/**
 * "Send access": mails a member of the organization the instance's address and a link that shows
 * its credentials once, to them signed in. The mail itself carries no password.
 */
export function SendAccessModal({ instance, onClose }: { instance: Instance; onClose(): void }) {
  const toast = useToast();
  const members = useQuery(membersQuery(instance.organizationId));
  const [userId, setUserId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const active = (members.data ?? []).filter((m) => !m.disabled);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await call(
        api.POST('/api/v1/instances/{id}/send-access', { params: { path: { id: instance.id } }, body: { userId } }),
      );
      const to = active.find((m) => m.userId === userId);
      toast.success(`Access to ${instance.name} sent to ${to?.email ?? 'the member'}.`);
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return (
    <Modal
      title="Send access"
      description={`Mail a member of the organization the address of ${instance.name} and a link that shows its administrator login and password once, to them, for 7 days.`}
      onClose={onClose}
    >
      {members.isPending ? <Loading /> : null}
      {members.error ? <Alert kind="error">Members could not be loaded: {String(members.error.message)}</Alert> : null}
      {members.data ? (
        <form className="form" onSubmit={submit} noValidate>
          <FormError error={error} fields={['userId']} />
          <Field
            label="Member"
            error={fieldErrors.userId}
            hint="Only members of the organization can receive access; invite someone first to add them."
          >
            {(props) => (
              <select {...props} value={userId} onChange={(e) => setUserId(e.target.value)}>
                <option value="">Choose a member…</option>
                {active.map((m) => (
                  <option key={m.userId} value={m.userId}>
                    {m.name && m.name !== m.email ? `${m.name} <${m.email}>` : m.email} · {m.role}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <div className="form-actions">
            <button type="button" className="btn btn-secondary" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={busy || !userId}>
              {busy ? 'Sending…' : 'Send access'}
            </button>
          </div>
        </form>
      ) : null}
    </Modal>
  );
}
