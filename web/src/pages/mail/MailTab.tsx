import type { Instance } from '../../api/types';
import { MailInbox } from './MailInbox';
import { OutgoingMailCard } from './OutgoingMailCard';
import '../../styles/mail.css';

/** The instance's mail: how Odoo sends it and, outside production, the catcher's inbox. */
export function MailTab({ instance, isAdmin }: { instance: Instance; isAdmin: boolean }) {
  return (
    <div className="mail-tab">
      <OutgoingMailCard instanceId={instance.id} isAdmin={isAdmin} />
      {instance.stage !== 'production' ? <MailInbox instanceId={instance.id} isAdmin={isAdmin} /> : null}
    </div>
  );
}
