import type { Db } from '../../db/database.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import type { NoticeKey } from '../../platform/notices.js';
import {
  catalogue,
  DEFAULT_LOCALE,
  defaultTemplate,
  isNoticeKey,
  type NoticeVariable,
  sampleVars,
} from './catalogue.js';
import { type MailTemplate, type RenderedMail, renderMail } from './render.js';

export const templateLimits = { subject: 500, html: 100_000, text: 50_000 } as const;
// A language tag as people write them: en, fr, pt-BR, zh-Hant.
const LOCALE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/;

export interface TemplateSummary {
  key: NoticeKey;
  description: string;
  variables: NoticeVariable[];
  /** The languages the platform admin edited (a row overrides the shipped default). */
  overriddenLocales: string[];
}

export interface TemplateView extends MailTemplate {
  key: NoticeKey;
  locale: string;
  /** false: the shipped default (English), or English because the language has none yet. */
  overridden: boolean;
  updatedAt: string | null;
}

export function requireKey(key: string): NoticeKey {
  if (!isNoticeKey(key)) throw notFound(`Mail template "${key.slice(0, 60)}"`);
  return key;
}

export function requireLocale(locale: string): string {
  if (!LOCALE.test(locale)) {
    throw new MarinaError('MARINA_E_VALIDATION', 'The language must be a tag such as en, fr or pt-BR.', {
      field: 'locale',
    });
  }
  return locale;
}

export interface MailTemplateServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
}

/** The mails Marina sends people, as the platform admin edited them or as shipped. */
export class MailTemplateService {
  constructor(private readonly deps: MailTemplateServiceDeps) {}

  /**
   * The template a mail in this language is made from: the admin's version in that language, else the
   * admin's English version, else the shipped English one (a missing translation falls back to English).
   */
  async resolve(key: NoticeKey, locale: string, db: Db = this.deps.db): Promise<MailTemplate & { locale: string }> {
    const rows = await db
      .selectFrom('mail_templates')
      .select(['locale', 'subject', 'html', 'text'])
      .where('key', '=', key)
      .where('locale', 'in', [...new Set([locale, DEFAULT_LOCALE])])
      .execute();
    const found = rows.find((row) => row.locale === locale) ?? rows.find((row) => row.locale === DEFAULT_LOCALE);
    return found ?? { locale: DEFAULT_LOCALE, ...defaultTemplate(key) };
  }

  /** The mail as it is sent: the template for this language (or its fallback), rendered with the values. */
  async render(key: NoticeKey, locale: string, vars: Record<string, unknown>): Promise<RenderedMail> {
    return renderMail(await this.resolve(key, locale), vars);
  }

  async list(actor: Actor): Promise<TemplateSummary[]> {
    requirePlatformAdmin(actor);
    const rows = await this.deps.db.selectFrom('mail_templates').select(['key', 'locale']).orderBy('locale').execute();
    return catalogue.map((definition) => ({
      ...definition,
      overriddenLocales: rows.filter((row) => row.key === definition.key).map((row) => row.locale),
    }));
  }

  async get(actor: Actor, rawKey: string, rawLocale: string): Promise<TemplateView> {
    requirePlatformAdmin(actor);
    const key = requireKey(rawKey);
    const locale = requireLocale(rawLocale);
    const row = await this.deps.db
      .selectFrom('mail_templates')
      .selectAll()
      .where('key', '=', key)
      .where('locale', '=', locale)
      .executeTakeFirst();
    if (row) {
      return {
        key,
        locale,
        subject: row.subject,
        html: row.html,
        text: row.text,
        overridden: true,
        updatedAt: row.updated_at.toISOString(),
      };
    }
    // Not edited in this language: what the mail would be made from (the English version).
    const fallback = await this.resolve(key, locale);
    return {
      key,
      locale,
      subject: fallback.subject,
      html: fallback.html,
      text: fallback.text,
      overridden: false,
      updatedAt: null,
    };
  }

  /** Saves the admin's version; it must render with the sample values (strict names, limits, a text part). */
  async put(ctx: RequestContext, rawKey: string, rawLocale: string, input: MailTemplate): Promise<TemplateView> {
    requirePlatformAdmin(ctx.actor);
    const key = requireKey(rawKey);
    const locale = requireLocale(rawLocale);
    await renderMail(input, sampleVars(key));
    const now = this.deps.clock.now();
    const updatedBy = ctx.actor.kind === 'user' ? ctx.actor.userId : null;
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('mail_templates')
        .values({
          key,
          locale,
          subject: input.subject,
          html: input.html,
          text: input.text,
          updated_by: updatedBy,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['key', 'locale']).doUpdateSet({
            subject: input.subject,
            html: input.html,
            text: input.text,
            updated_by: updatedBy,
            updated_at: now,
          }),
        )
        .execute();
      await this.deps.audit.record(
        ctx,
        {
          action: 'mail_template.update',
          target: { type: 'mail_template', id: `${key}/${locale}`, label: `${key}/${locale}` },
        },
        trx,
      );
    });
    return this.get(ctx.actor, key, locale);
  }

  /** Removes the admin's version: the shipped default (or English) applies again. */
  async reset(ctx: RequestContext, rawKey: string, rawLocale: string): Promise<void> {
    requirePlatformAdmin(ctx.actor);
    const key = requireKey(rawKey);
    const locale = requireLocale(rawLocale);
    await this.deps.db.transaction().execute(async (trx) => {
      const deleted = await trx
        .deleteFrom('mail_templates')
        .where('key', '=', key)
        .where('locale', '=', locale)
        .executeTakeFirst();
      if (deleted.numDeletedRows === 0n) throw notFound(`An edited template ${key}/${locale}`);
      await this.deps.audit.record(
        ctx,
        {
          action: 'mail_template.reset',
          target: { type: 'mail_template', id: `${key}/${locale}`, label: `${key}/${locale}` },
        },
        trx,
      );
    });
  }

  /** Renders an unsaved template with the sample values (400 with line and column when it does not). */
  async preview(actor: Actor, rawKey: string, input: MailTemplate): Promise<RenderedMail> {
    requirePlatformAdmin(actor);
    const key = requireKey(rawKey);
    return renderMail(input, sampleVars(key));
  }
}
