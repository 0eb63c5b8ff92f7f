import { type Selectable, sql } from 'kysely';
import type { ParsedMail } from 'mailparser';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { CaughtMailsTable } from '../../db/schema.js';
import type { AuditService } from '../../platform/audit/service.js';
import { instanceTarget } from '../../platform/audit/targets.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import type { InstanceService } from '../instances/service.js';
import { loadMailparser } from './parser.js';
import type { MailDetail, MailPage, MailSummary } from './schemas.js';
import type { MailStore } from './store.js';

export interface InboxServiceDeps {
  db: Db;
  audit: AuditService;
  instances: InstanceService;
  store: MailStore;
}

type SummaryRow = Selectable<CaughtMailsTable>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TEXT_MAX = 200_000;

function summary(row: SummaryRow): Static<typeof MailSummary> {
  return {
    id: row.id,
    receivedAt: row.received_at.toISOString(),
    envelopeFrom: row.envelope_from,
    envelopeTo: row.envelope_to,
    subject: row.subject,
    from: row.from_header,
    to: row.to_header,
    sizeBytes: row.size_bytes,
    hasHtml: row.has_html,
    attachmentCount: row.attachment_count,
  };
}

/** A page cursor: the arrival number of the last message shown. */
const CURSOR = /^[0-9]{1,19}$/;

/**
 * The inbox of an instance's caught mail: read by whoever may see the instance's credentials (it
 * holds Odoo's password-reset mails, so reading it is as good as the admin password), emptied by
 * its operators. An instance of another organization is "not found", as everywhere.
 */
export class InboxService {
  constructor(private readonly deps: InboxServiceDeps) {}

  private async readable(actor: Actor, instanceId: string) {
    const instance = await this.deps.instances.get(actor, instanceId);
    await requirePermissionOn(this.deps.db, actor, instance, 'instance.credentials');
    return instance;
  }

  async list(
    actor: Actor,
    instanceId: string,
    page: { limit?: number; cursor?: string } = {},
  ): Promise<Static<typeof MailPage>> {
    const instance = await this.readable(actor, instanceId);
    const limit = Math.min(Math.max(page.limit ?? 50, 1), 200);
    const after = page.cursor && CURSOR.test(page.cursor) ? page.cursor : null;
    let query = this.deps.db
      .selectFrom('caught_mails')
      .selectAll()
      .where('instance_id', '=', instance.id)
      .orderBy('seq', 'desc')
      .limit(limit + 1);
    if (after) query = query.where(sql<boolean>`seq < ${after}::bigint`);
    const rows = await query.execute();
    const total = await this.deps.db
      .selectFrom('caught_mails')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('instance_id', '=', instance.id)
      .executeTakeFirstOrThrow();
    const shown = rows.slice(0, limit);
    const last = shown.at(-1);
    return {
      mails: shown.map(summary),
      total: Number(total.n),
      nextCursor: rows.length > limit && last ? String(last.seq) : null,
    };
  }

  private async parsed(actor: Actor, instanceId: string, mailId: string) {
    const instance = await this.readable(actor, instanceId);
    if (!UUID.test(mailId)) throw notFound('Message');
    const row = await this.deps.db
      .selectFrom('caught_mails')
      .selectAll()
      .where('id', '=', mailId)
      .where('instance_id', '=', instance.id)
      .executeTakeFirst();
    if (!row) throw notFound('Message');
    const raw = await this.deps.store.read(instance.id, row.id).catch(() => {
      throw notFound('Message');
    });
    const { simpleParser } = await loadMailparser();
    const mail: ParsedMail = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
    return { row, mail };
  }

  async get(actor: Actor, instanceId: string, mailId: string): Promise<Static<typeof MailDetail>> {
    const { row, mail } = await this.parsed(actor, instanceId, mailId);
    return {
      ...summary(row),
      headers: mail.headerLines.map((h) => {
        const colon = h.line.indexOf(':');
        return { name: colon > 0 ? h.line.slice(0, colon) : h.key, value: h.line.slice(colon + 1).trim() };
      }),
      text: (mail.text ?? '').slice(0, TEXT_MAX),
      attachments: mail.attachments.map((a, index) => ({
        index,
        filename: a.filename ?? `attachment-${index + 1}`,
        contentType: a.contentType,
        sizeBytes: a.size,
      })),
    };
  }

  /** The HTML body as the sender wrote it: only ever served inside a sandbox (see routes). */
  async html(actor: Actor, instanceId: string, mailId: string): Promise<string> {
    const { mail } = await this.parsed(actor, instanceId, mailId);
    if (typeof mail.html === 'string' && mail.html !== '') return mail.html;
    throw notFound('HTML part');
  }

  async attachment(
    actor: Actor,
    instanceId: string,
    mailId: string,
    index: number,
  ): Promise<{ filename: string; contentType: string; content: Buffer }> {
    const { mail } = await this.parsed(actor, instanceId, mailId);
    const attachment = mail.attachments[index];
    if (!attachment) throw notFound('Attachment');
    return {
      filename: attachment.filename ?? `attachment-${index + 1}`,
      contentType: attachment.contentType,
      content: attachment.content,
    };
  }

  async deleteAll(ctx: RequestContext, instanceId: string): Promise<{ deleted: number }> {
    const instance = await this.deps.instances.get(ctx.actor, instanceId);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'instance.operate');
    const deleted = await this.deps.store.deleteAll(instance.id);
    await this.deps.audit.record(ctx, {
      action: 'instance.delete_mails',
      organizationId: instance.organization_id,
      target: await instanceTarget(this.deps.db, instance),
      details: { deleted },
    });
    return { deleted };
  }
}
