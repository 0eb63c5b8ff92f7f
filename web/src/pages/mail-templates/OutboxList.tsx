import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Badge, type BadgeTone } from '../../components/Badge';
import { DataTable } from '../../components/DataTable';
import { Loading } from '../../components/EmptyState';
import { formatDateTime } from '../../format';
import { mailTemplateKeys, type OutboxMail } from './types';

const tones: Record<OutboxMail['status'], BadgeTone> = {
  queued: 'blue',
  sending: 'blue',
  sent: 'green',
  failed: 'red',
  unknown: 'amber',
};
const explain: Record<OutboxMail['status'], string> = {
  queued: 'Waiting to be sent (or for SMTP to be set up, or for its next attempt).',
  sending: 'Being sent now.',
  sent: 'The SMTP server took it.',
  failed: 'Not sent: see the error.',
  unknown: 'The connection broke while sending: it may have arrived. Marina never sends it twice.',
};

/** The latest mails and whether they left; `unknown` and `failed` are what needs a look. */
export function OutboxList() {
  const outbox = useQuery({
    queryKey: mailTemplateKeys.outbox,
    queryFn: async () => (await call(api.GET('/api/v1/mail-outbox'))).mails,
    refetchInterval: 15_000,
  });
  return (
    <section className="card card-flush" aria-label="Recent emails">
      <header className="card-header">
        <div>
          <h2>Recent emails</h2>
          <p className="card-subtitle">The latest 100, newest first. Each is sent at most once.</p>
        </div>
      </header>
      {outbox.isPending ? <Loading /> : null}
      {outbox.error ? <Alert kind="error">{errorMessage(outbox.error)}</Alert> : null}
      {outbox.data ? (
        <DataTable<OutboxMail>
          label="Recent emails"
          rows={outbox.data}
          rowKey={(row) => row.id}
          rowProps={(row) => ({ 'data-status': row.status })}
          empty={<p className="card-body muted">No email yet.</p>}
          columns={[
            { header: 'Mail', cell: (row) => row.key.replace(/_/g, ' ') },
            { header: 'To', cell: (row) => row.to },
            {
              header: 'Status',
              cell: (row) => (
                <span title={explain[row.status]}>
                  <Badge tone={tones[row.status]}>{row.status}</Badge>
                  {row.lastError ? <div className="mail-outbox-error">{row.lastError}</div> : null}
                </span>
              ),
            },
            { header: 'Created', cell: (row) => formatDateTime(row.createdAt) },
            { header: 'Sent', cell: (row) => (row.sentAt ? formatDateTime(row.sentAt) : '—') },
          ]}
        />
      ) : null}
    </section>
  );
}
