import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { AccountSwitch } from '../../components/AccountSwitch';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { Loading } from '../../components/EmptyState';
import { formatDate } from '../../format';
import { useMe } from '../../session/SessionContext';
import { useLoader } from '../../useLoader';

async function loadUsers() {
  return (await call(api.GET('/api/v1/users'))).users;
}

/** Every account on this Marina, for platform admins: disabling one stops its sessions and tokens at once. */
export function UsersSection() {
  const me = useMe();
  const users = useLoader(loadUsers, 'users');
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
                    {user.id === me.user.id ? null : (
                      <AccountSwitch account={user} onChanged={() => void users.reload()} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
