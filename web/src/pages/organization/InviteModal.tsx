import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { ApiError } from '../../api/errors';
import { type Organization, type Role, roles } from '../../api/types';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { EmailField } from '../../components/FormFields';
import { Modal } from '../../components/Modal';
import { useToast } from '../../components/Toast';

const roleHelp: Record<Role, string> = {
  owner: 'Owner — everything, including managing owners',
  admin: 'Admin — manages members, backups, domains and production',
  developer: 'Developer — works on staging and development; reads production',
  viewer: 'Viewer — sees instances, backups and the team',
};

/**
 * Inviting is all an organization admin can do: the link goes to the invitee's mailbox, and they
 * join (or create their account, with a password only they know) when they accept.
 */
export function InviteModal({ org, onClose, onInvited }: { org: Organization; onClose(): void; onInvited(): void }) {
  const toast = useToast();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const assignableRoles = org.role === 'owner' || org.role === null ? roles : roles.filter((r) => r !== 'owner');

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { invitation } = await call(
        api.POST('/api/v1/organizations/{id}/members', {
          params: { path: { id: org.id } },
          body: { email: email.trim(), role },
        }),
      );
      onInvited();
      if (invitation.mailed) {
        toast.success(`Invitation sent to ${invitation.email}; they join ${org.name} when they accept it.`);
      } else {
        toast.error(
          `The invitation for ${invitation.email} is saved, but no email could be sent: ask a platform admin for its link.`,
        );
      }
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return (
    <Modal
      title="Invite member"
      description={`We email an invitation link; they join ${org.name} when they accept it.`}
      onClose={onClose}
    >
      <form className="form" onSubmit={submit} noValidate>
        <FormError error={error} fields={['email', 'role']} />
        <EmailField required autoComplete="off" value={email} onChange={setEmail} error={fieldErrors.email} />
        <Field label="Role" error={fieldErrors.role}>
          {(props) => (
            <select {...props} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {assignableRoles.map((r) => (
                <option key={r} value={r}>
                  {roleHelp[r]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !email.trim()}>
            {busy ? 'Inviting…' : 'Send invitation'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
