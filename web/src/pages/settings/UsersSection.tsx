import { useQuery, useQueryClient } from '@tanstack/react-query';
import { errorMessage } from '../../api/errors';
import { queryKeys, usersQuery } from '../../api/queries';
import { AccountSwitch } from '../../components/AccountSwitch';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { DataTable } from '../../components/DataTable';
import { Loading } from '../../components/EmptyState';
import { formatDate } from '../../format';
import { useMe } from '../../session/SessionContext';

/** Every account on this Marina, for platform admins: disabling one stops its sessions and tokens at once. */
export function UsersSection() {
  const me = useMe();
  const queryClient = useQueryClient();
  const users = useQuery(usersQuery());
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
      {users.isPending ? <Loading /> : null}
      {users.data ? (
        <DataTable
          label="Users"
          rows={users.data}
          rowKey={(user) => user.id}
          columns={[
            {
              header: 'Email',
              className: 'row-title',
              cell: (user) => (
                <>
                  {user.email} {user.isPlatformAdmin ? <Badge tone="violet">platform admin</Badge> : null}
                </>
              ),
            },
            { header: 'Name', cell: (user) => user.name },
            { header: 'Organizations', cell: (user) => user.organizationCount },
            {
              header: 'Status',
              cell: (user) => (user.disabled ? <Badge tone="red">disabled</Badge> : <Badge tone="green">active</Badge>),
            },
            { header: 'Created', cell: (user) => formatDate(user.createdAt) },
            {
              header: 'Actions',
              hiddenHeader: true,
              className: 'actions',
              cell: (user) =>
                user.id === me.user.id ? null : (
                  <AccountSwitch
                    account={user}
                    onChanged={() => void queryClient.invalidateQueries({ queryKey: queryKeys.users })}
                  />
                ),
            },
          ]}
        />
      ) : null}
    </section>
  );
}
