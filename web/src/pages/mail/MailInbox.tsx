import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { EmptyState, Loading } from '../../components/EmptyState';
import { ArrowLeftIcon, DownloadIcon, MailIcon, TrashIcon } from '../../components/icons';
import { useToast } from '../../components/Toast';
import { formatDateTime } from '../../format';
import { formatBytes } from '../../operate';
import { attachmentUrl, inboxQuery, type MailSummary, mailApi, mailHtmlQuery, mailKeys, mailQuery } from './api';

const PAGE = 50;

/** The catcher's inbox: newest first; a message opens beside the list (below it on a phone). */
export function MailInbox({ instanceId, isAdmin }: { instanceId: string; isAdmin: boolean }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const [limit, setLimit] = useState(PAGE);
  const [openId, setOpenId] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const inbox = useQuery(inboxQuery(instanceId, limit));
  const mails = inbox.data?.mails ?? [];

  return (
    <section className="card card-flush mail-inbox" aria-label="Caught mail">
      <header className="card-header">
        <h3>Caught mail</h3>
        <span className="card-subtitle" data-testid="mail-count">
          {inbox.data ? `${inbox.data.total} message${inbox.data.total === 1 ? '' : 's'}` : ''}
        </span>
        {isAdmin && mails.length > 0 ? (
          <button type="button" className="btn btn-secondary btn-small" onClick={() => setConfirming(true)}>
            <TrashIcon width={14} height={14} />
            Delete all
          </button>
        ) : null}
      </header>
      {inbox.error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(inbox.error)}</Alert>
        </div>
      ) : null}
      {!inbox.data && !inbox.error ? <Loading /> : null}
      {inbox.data && mails.length === 0 ? (
        <EmptyState icon={<MailIcon width={28} height={28} />} title="No mail caught yet">
          Mail this instance's Odoo sends lands here, and nowhere else.
        </EmptyState>
      ) : null}
      {mails.length > 0 ? (
        <div className={openId ? 'mail-panes mail-open' : 'mail-panes'}>
          <ul className="mail-list" aria-label="Messages">
            {mails.map((mail) => (
              <MailRow key={mail.id} mail={mail} selected={mail.id === openId} onOpen={() => setOpenId(mail.id)} />
            ))}
            {inbox.data?.nextCursor ? (
              <li className="mail-more">
                <button type="button" className="btn btn-secondary btn-small" onClick={() => setLimit(limit + PAGE)}>
                  Show older messages
                </button>
              </li>
            ) : null}
          </ul>
          {openId ? <MailView instanceId={instanceId} mailId={openId} onClose={() => setOpenId(null)} /> : null}
        </div>
      ) : null}
      {confirming ? (
        <ConfirmDialog
          title="Delete all caught mail?"
          confirmLabel="Delete all"
          onClose={() => setConfirming(false)}
          onConfirm={async () => {
            const { deleted } = await mailApi.deleteAll(instanceId);
            setOpenId(null);
            await queryClient.invalidateQueries({ queryKey: mailKeys.inbox(instanceId) });
            toast.success(`${deleted} message${deleted === 1 ? '' : 's'} deleted.`);
          }}
        >
          Every message this instance's mail catcher kept is deleted for good.
        </ConfirmDialog>
      ) : null}
    </section>
  );
}

function MailRow({ mail, selected, onOpen }: { mail: MailSummary; selected: boolean; onOpen(): void }) {
  return (
    <li>
      <button
        type="button"
        className={selected ? 'mail-row selected' : 'mail-row'}
        aria-current={selected ? 'true' : undefined}
        onClick={onOpen}
        data-testid="mail-row"
      >
        <span className="mail-row-subject">{mail.subject || '(no subject)'}</span>
        <span className="mail-row-meta">
          <span className="mail-row-to">To {mail.to || mail.envelopeTo.join(', ')}</span>
          <time dateTime={mail.receivedAt}>{formatDateTime(mail.receivedAt)}</time>
        </span>
        <span className="mail-row-from">
          From {mail.from || mail.envelopeFrom || 'unknown'}
          {mail.attachmentCount > 0
            ? ` · ${mail.attachmentCount} attachment${mail.attachmentCount === 1 ? '' : 's'}`
            : ''}
        </span>
      </button>
    </li>
  );
}

function MailView({ instanceId, mailId, onClose }: { instanceId: string; mailId: string; onClose(): void }) {
  const mail = useQuery(mailQuery(instanceId, mailId));
  const html = useQuery({ ...mailHtmlQuery(instanceId, mailId), enabled: mail.data?.hasHtml === true });
  const [showHeaders, setShowHeaders] = useState(false);
  if (mail.error) return <Alert kind="error">{errorMessage(mail.error)}</Alert>;
  if (!mail.data) return <Loading />;
  const m = mail.data;
  return (
    <article className="mail-view" aria-label="Message" data-testid="mail-view">
      <button type="button" className="btn btn-secondary btn-small mail-back" onClick={onClose}>
        <ArrowLeftIcon width={14} height={14} />
        Back to the list
      </button>
      <h4 className="mail-subject">{m.subject || '(no subject)'}</h4>
      <dl className="mail-facts">
        <dt>From</dt>
        <dd>{m.from || m.envelopeFrom}</dd>
        <dt>To</dt>
        <dd>{m.to || m.envelopeTo.join(', ')}</dd>
        <dt>Received</dt>
        <dd>{formatDateTime(m.receivedAt)}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(m.sizeBytes)}</dd>
      </dl>
      {m.attachments.length > 0 ? (
        <ul className="mail-attachments" aria-label="Attachments">
          {m.attachments.map((a) => (
            <li key={a.index}>
              <a href={attachmentUrl(instanceId, mailId, a.index)} download={a.filename}>
                <DownloadIcon width={14} height={14} />
                {a.filename}
              </a>
              <span className="mail-attachment-size">{formatBytes(a.sizeBytes)}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {m.hasHtml ? (
        html.data !== undefined ? (
          // No allow-scripts, no same origin: the sender's HTML can neither run nor reach Marina.
          <iframe
            className="mail-html"
            title={`HTML of “${m.subject}”`}
            sandbox=""
            referrerPolicy="no-referrer"
            srcDoc={html.data}
            data-testid="mail-html"
          />
        ) : html.error ? (
          <Alert kind="error">{errorMessage(html.error)}</Alert>
        ) : (
          <Loading />
        )
      ) : (
        <pre className="mail-text">{m.text}</pre>
      )}
      <button type="button" className="link-button" onClick={() => setShowHeaders(!showHeaders)}>
        {showHeaders ? 'Hide headers' : 'Show all headers'}
      </button>
      {showHeaders ? (
        <pre className="mail-headers">{m.headers.map((h) => `${h.name}: ${h.value}`).join('\n')}</pre>
      ) : null}
    </article>
  );
}
