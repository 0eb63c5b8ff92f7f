import { useState } from 'react';
import { api, call } from '../api/client';
import { errorMessage } from '../api/errors';
import { ConfirmDialog } from './ConfirmDialog';
import { useToast } from './Toast';

interface AccountSwitchProps {
  account: { id: string; email: string; disabled: boolean };
  onChanged(): void;
}

/**
 * A platform admin's Enable / Disable of one account (a confirmation first for Disable): the same
 * control on the users list and on an organization's members.
 */
export function AccountSwitch({ account, onChanged }: AccountSwitchProps) {
  const toast = useToast();
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const path = { params: { path: { id: account.id } } };

  async function enable() {
    setBusy(true);
    try {
      await call(api.POST('/api/v1/users/{id}/enable', path));
      toast.success(`${account.email} can sign in again.`);
      onChanged();
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setBusy(false);
    }
  }

  if (account.disabled)
    return (
      <button type="button" className="btn btn-ghost" disabled={busy} onClick={() => void enable()}>
        Enable<span className="visually-hidden"> {account.email}</span>
      </button>
    );
  return (
    <>
      <button type="button" className="btn btn-ghost btn-danger-text" onClick={() => setConfirming(true)}>
        Disable<span className="visually-hidden"> {account.email}</span>
      </button>
      {confirming ? (
        <ConfirmDialog
          title="Disable account?"
          confirmLabel="Disable account"
          onClose={() => setConfirming(false)}
          onConfirm={async () => {
            await call(api.POST('/api/v1/users/{id}/disable', path));
            toast.success(`${account.email} is disabled.`);
            onChanged();
          }}
        >
          <p>
            <strong>{account.email}</strong> is signed out everywhere, their API tokens are revoked, and they cannot
            sign in to Marina, in any organization, until a platform admin enables the account again.
          </p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}
