import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { SettingsService } from '../settings/service.js';
import { NoticeOutbox } from './outbox.js';
import { MailTemplateService } from './templates.js';

export { noticeRoutes } from './routes.js';

export interface NoticesModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  logger: Logger;
  settings: SettingsService;
  /** How often the sender looks for due mail (default 15 s). */
  intervalMs?: number;
}

export interface NoticesModule {
  /** The outbox (the `Notices` port of src/platform/notices.ts): enqueue in a transaction, sent after. */
  notices: NoticeOutbox;
  mailTemplates: MailTemplateService;
}

/** The mails Marina sends people: editable templates and an outbox that sends each at most once. */
export function createNoticesModule({
  db,
  clock,
  audit,
  logger,
  settings,
  intervalMs,
}: NoticesModuleDeps): NoticesModule {
  const mailTemplates = new MailTemplateService({ db, clock, audit });
  const notices = new NoticeOutbox({ db, clock, logger, settings, templates: mailTemplates, intervalMs });
  return { notices, mailTemplates };
}
