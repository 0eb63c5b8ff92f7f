import type { Logger } from 'pino';
import { MailError, sendMail } from '../adapters/mail.js';
import type { Db } from '../db/database.js';
import type { SettingsService } from '../modules/settings/service.js';
import type { NoticeKey } from './notices.js';

/** Renders a mail from the platform admin's template (src/modules/notices/templates.ts). */
export interface MailRenderer {
  render(
    key: NoticeKey,
    locale: string,
    vars: Record<string, unknown>,
  ): Promise<{ subject: string; text: string; html: string }>;
}

export interface BackupFailureEvent {
  organizationId: string;
  /** `org/project/instance`, as users see it. */
  instanceLabel: string;
  instanceId: string | null;
  /** What started it: 'schedule', 'manual', 'pre-update'… */
  trigger: string;
  what: 'backup' | 'upload' | 'verification';
  /** For uploads: the offsite destination that failed. */
  destinationName?: string;
  error: string;
  at: Date;
  /** The instance's backups page. */
  url: string;
}

export type NoticeResult =
  | { sent: true; to: string[] }
  | { sent: false; reason: 'smtp-not-configured' | 'no-recipients' }
  | { sent: false; reason: 'send-failed'; error: string };

// Enough of a long error to act on, without turning a notice into a log dump.
const MAX_ERROR_CHARS = 4000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROLS = /[\x00-\x1f\x7f]+/g;

/** One line, no control characters: labels and names end up in a Subject header. */
const oneLine = (text: string, max = 200) => text.replace(CONTROLS, ' ').trim().slice(0, max);

function headline(event: BackupFailureEvent): string {
  switch (event.what) {
    case 'upload':
      return event.destinationName
        ? `Offsite copy to ${oneLine(event.destinationName, 80)} failed`
        : 'Offsite copy failed';
    case 'verification':
      return 'Backup verification failed';
    default:
      return event.trigger === 'schedule' ? 'Scheduled backup failed' : 'Backup failed';
  }
}

export interface NotificationServiceDeps {
  db: Db;
  settings: SettingsService;
  logger: Logger;
  /** The editable templates; without them (a bare service in tests), the built-in text. */
  templates?: MailRenderer;
}

/**
 * Tells people by email when something needs them. A notice is a side effect of a job: it never
 * throws, and a failure to send is logged and returned, so that the job's own outcome stands.
 */
export class NotificationService {
  constructor(private readonly deps: NotificationServiceDeps) {}

  /** Mails the organization's owners and admins, once, all on one message. */
  async backupFailed(event: BackupFailureEvent): Promise<NoticeResult> {
    const context = { organizationId: event.organizationId, instance: event.instanceLabel, what: event.what };
    try {
      const smtp = await this.deps.settings.getSmtpForSending();
      if (!smtp) {
        this.deps.logger.info(context, 'backup failure notice: no email sent, SMTP is not configured');
        return { sent: false, reason: 'smtp-not-configured' };
      }
      const { to, organization } = await this.recipients(event.organizationId);
      if (to.length === 0) {
        this.deps.logger.info(context, 'backup failure notice: the organization has no owner or admin to tell');
        return { sent: false, reason: 'no-recipients' };
      }
      const title = headline(event);
      const mail = this.deps.templates
        ? await this.deps.templates.render('backup_failed', 'en', this.backupFailedVars(event, title, organization))
        : {
            subject: `[Marina] ${title}: ${oneLine(event.instanceLabel)}`,
            text: this.backupFailedText(event, title, organization),
          };
      await sendMail(smtp, { to, ...mail });
      this.deps.logger.info({ ...context, to }, 'backup failure notice sent');
      return { sent: true, to };
    } catch (error) {
      // MailError messages are scrubbed of the password; anything else is reduced to its message.
      const message =
        error instanceof MailError ? error.message : error instanceof Error ? error.message : String(error);
      this.deps.logger.warn({ ...context, error: message }, 'backup failure notice: the email could not be sent');
      return { sent: false, reason: 'send-failed', error: message };
    }
  }

  private async recipients(organizationId: string): Promise<{ to: string[]; organization: string | null }> {
    const rows = await this.deps.db
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select('u.email')
      .where('m.organization_id', '=', organizationId)
      .where('m.role', 'in', ['owner', 'admin'])
      .orderBy('u.email')
      .execute();
    const org = await this.deps.db
      .selectFrom('organizations')
      .select('name')
      .where('id', '=', organizationId)
      .executeTakeFirst();
    return { to: [...new Set(rows.map((r) => r.email))], organization: org?.name ?? null };
  }

  /** The backup_failed template's values: the same facts as the built-in text. */
  private backupFailedVars(event: BackupFailureEvent, title: string, organization: string | null) {
    return {
      title,
      organization: organization ? oneLine(organization, 100) : 'the organization',
      instance: oneLine(event.instanceLabel),
      what: event.what,
      destination: event.destinationName ? oneLine(event.destinationName, 100) : '',
      trigger: oneLine(event.trigger, 40),
      at: event.at.toISOString(),
      error: event.error.trim().slice(0, MAX_ERROR_CHARS) || '(no error message)',
      url: event.url,
    };
  }

  private backupFailedText(event: BackupFailureEvent, title: string, organization: string | null): string {
    const when = event.at.toISOString();
    const error = event.error.trim().slice(0, MAX_ERROR_CHARS) || '(no error message)';
    const lines = [
      `${title}: ${oneLine(event.instanceLabel)}`,
      '',
      `Instance:    ${oneLine(event.instanceLabel)}`,
      `What failed: ${event.what}`,
      ...(event.destinationName ? [`Destination: ${oneLine(event.destinationName, 100)}`] : []),
      `Started by:  ${oneLine(event.trigger, 40)}`,
      `When:        ${when.slice(0, 19).replace('T', ' ')} UTC`,
      '',
      'Error:',
      error,
      '',
      `The instance's backups: ${event.url}`,
      '',
      '-- ',
      `You receive this as an owner or admin of ${organization ? oneLine(organization, 100) : 'the organization'} on Marina.`,
    ];
    return `${lines.join('\n')}\n`;
  }
}
