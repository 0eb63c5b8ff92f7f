import { useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Loading } from '../../components/EmptyState';
import { useToast } from '../../components/Toast';
import { formatDate } from '../../format';
import { useMe } from '../../session/SessionContext';
import { useLoader } from '../../useLoader';

type Account = Awaited<ReturnType<typeof loadUsers>>[number];

async function loadUsers() {
  return (await call(api.GET('/api/v1/users'))).users;
}

/** Every account on this Marina, for platform admins: disabling one stops its sessions and tokens at once. */
export function UsersSection() {
  const me = useMe();
  const toast = useToast();
  const users = useLoader(loadUsers, 'users');
  const [disabling, setDisabling] = useState<Account | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  async function enable(user: Account) {
    setBusy(user.id);
    try {
      await call(api.POST('/api/v1/users/{id}/enable', { params: { path: { id: user.id } } }));
      toast.success(`${user.email} can sign in again.`);
      void users.reload();
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="card card-flush">
      <header className="card-header">
        <h2>Users</h2>
      </header>
      {users.error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(users.error)}</Alert>
        </div>
      ) : null}
      {!users.data && users.loading ? <Loading /> : null}
      {users.data ? (
        <div className="table-wrap">
          <table className="table" aria-label="Users">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Organizations</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((user) => (
                <tr key={user.id}>
                  <td className="row-title">
                    {user.email} {user.isPlatformAdmin ? <Badge tone="violet">platform admin</Badge> : null}
                  </td>
                  <td>{user.name}</td>
                  <td>{user.organizationCount}</td>
                  <td>{user.disabled ? <Badge tone="red">disabled</Badge> : <Badge tone="green">active</Badge>}</td>
                  <td>{formatDate(user.createdAt)}</td>
                  <td className="actions">
                    {user.id === me.user.id ? null : user.disabled ? (
                      <button
                        type="button"
                        className="btn btn-ghost"
                        disabled={busy === user.id}
                        onClick={() => void enable(user)}
                      >
                        Enable<span className="visually-hidden"> {user.email}</span>
                      </button>
                    ) : (
                      <button
                        type="button"
                        className="btn btn-ghost btn-danger-text"
                        onClick={() => setDisabling(user)}
                      >
                        Disable<span className="visually-hidden"> {user.email}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {disabling ? (
        <ConfirmDialog
          title="Disable account?"
          confirmLabel="Disable account"
          onClose={() => setDisabling(null)}
          onConfirm={async () => {
            await call(api.POST('/api/v1/users/{id}/disable', { params: { path: { id: disabling.id } } }));
            toast.success(`${disabling.email} is disabled.`);
            void users.reload();
          }}
        >
          <p>
            <strong>{disabling.email}</strong> is signed out everywhere, their API tokens are revoked, and they cannot
            sign in until you enable the account again.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
