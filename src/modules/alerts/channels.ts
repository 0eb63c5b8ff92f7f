import { randomBytes } from 'node:crypto';
import type { OutboundGuard } from '../../adapters/net/outbound.js';
import type { Db } from '../../db/database.js';
import type { AlertChannelKind } from '../../db/schema-metrics.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import { requirePermission } from '../../platform/permissions.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { invalid, isUuid, normalizeEmail, oneOf, requireLabel } from '../../platform/validation.js';
import { requireOutbound } from '../settings/outbound-settings.js';

export const channelKinds: readonly AlertChannelKind[] = [
  'email',
  'webhook',
  'slack',
  'mattermost',
  'discord',
  'teams',
];
const MAX_URL = 2000;
const MAX_CHANNELS = 20;

export interface ChannelView {
  id: string;
  organizationId: string;
  kind: AlertChannelKind;
  name: string;
  /** The address; a webhook URL is shown up to its path only (its path is often its secret). */
  target: string;
  enabled: boolean;
  createdAt: string;
}

export interface ChannelInput {
  kind?: unknown;
  name?: unknown;
  target?: unknown;
  secret?: unknown;
  enabled?: unknown;
}

/** The origin of a webhook URL and no more: Slack's and Discord's URLs carry their token in the path. */
export function maskTarget(kind: AlertChannelKind, target: string): string {
  if (kind === 'email') return target;
  try {
    return `${new URL(target).origin}/…`;
  } catch {
    return '…';
  }
}

export interface AlertChannelServiceDeps {
  db: Db;
  audit: AuditService;
  box: SecretBox;
  guard: OutboundGuard;
  /** Plain-http webhook URLs (only createTestApp sets it: the loopback receivers of tests). */
  allowHttp: boolean;
}

type Row = {
  id: string;
  organization_id: string;
  kind: AlertChannelKind;
  name: string;
  target: string;
  enabled: boolean;
  created_at: Date;
};

/** An organization's alert channels: email addresses and chat or generic webhooks (organization admins). */
export class AlertChannelService {
  constructor(private readonly deps: AlertChannelServiceDeps) {}

  view(row: Row): ChannelView {
    return {
      id: row.id,
      organizationId: row.organization_id,
      kind: row.kind,
      name: row.name,
      target: maskTarget(row.kind, row.target),
      enabled: row.enabled,
      createdAt: row.created_at.toISOString(),
    };
  }

  /** A webhook URL Marina may post to: https (http only in tests), no credentials, an address the guard allows. */
  async checkUrl(value: unknown): Promise<string> {
    if (typeof value !== 'string' || value.length > MAX_URL)
      throw invalid('target', `The URL is required (at most ${MAX_URL} characters).`);
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      throw invalid('target', 'The target is not a URL such as https://hooks.example.com/….');
    }
    const httpOk = this.deps.allowHttp && url.protocol === 'http:';
    if (url.protocol !== 'https:' && !httpOk) throw invalid('target', 'A webhook URL must start with https://.');
    if (url.username !== '' || url.password !== '') throw invalid('target', 'Put no user name or password in the URL.');
    await requireOutbound(
      this.deps.guard,
      url.hostname,
      url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
    );
    return url.toString();
  }

  async list(actor: Actor, organizationId: string): Promise<ChannelView[]> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    await requirePermission(this.deps.db, actor, organizationId, 'alerts.manage');
    const rows = await this.deps.db
      .selectFrom('alert_channels')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => this.view(r));
  }

  /** Made; a generic webhook's signing secret is answered this once (chosen, or generated). */
  async create(
    ctx: RequestContext,
    organizationId: string,
    input: ChannelInput,
  ): Promise<ChannelView & { secret: string | null }> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    await requirePermission(this.deps.db, ctx.actor, organizationId, 'alerts.manage');
    const kind = oneOf(input.kind, channelKinds, 'kind');
    const name = requireLabel(input.name ?? kind, 'name', 80);
    const target = kind === 'email' ? normalizeEmail(input.target, 'target') : await this.checkUrl(input.target);
    let secret: string | null = null;
    if (kind === 'webhook') {
      if (input.secret !== undefined && input.secret !== null) {
        if (typeof input.secret !== 'string' || input.secret.length < 16 || input.secret.length > 200)
          throw invalid('secret', 'The signing secret is 16 to 200 characters.');
        secret = input.secret;
      } else secret = randomBytes(32).toString('hex');
    }
    const enabled = input.enabled === undefined ? true : input.enabled === true;
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const count = await trx
        .selectFrom('alert_channels')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('organization_id', '=', organizationId)
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= MAX_CHANNELS)
        throw invalid('kind', `An organization has at most ${MAX_CHANNELS} alert channels.`);
      const made = await trx
        .insertInto('alert_channels')
        .values({ organization_id: organizationId, kind, name, target, enabled })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (secret !== null)
        await trx
          .updateTable('alert_channels')
          .set({ secret: this.deps.box.seal(secret, sealedAt('alert_channels', 'secret', made.id)) })
          .where('id', '=', made.id)
          .execute();
      await this.deps.audit.record(
        ctx,
        {
          action: 'alert_channel.create',
          organizationId,
          target: { type: 'alert_channel', id: made.id, label: name },
          details: { kind, target: maskTarget(kind, target) },
        },
        trx,
      );
      return made;
    });
    return { ...this.view(row), secret };
  }

  private async own(actor: Actor, organizationId: string, id: string): Promise<Row & { secret: string | null }> {
    if (!isUuid(organizationId) || !isUuid(id)) throw notFound('Alert channel');
    await requirePermission(this.deps.db, actor, organizationId, 'alerts.manage');
    const row = await this.deps.db
      .selectFrom('alert_channels')
      .selectAll()
      .where('id', '=', id)
      .where('organization_id', '=', organizationId)
      .executeTakeFirst();
    if (!row) throw notFound('Alert channel');
    return row;
  }

  async update(ctx: RequestContext, organizationId: string, id: string, input: ChannelInput): Promise<ChannelView> {
    const row = await this.own(ctx.actor, organizationId, id);
    const name = input.name === undefined ? row.name : requireLabel(input.name, 'name', 80);
    const enabled = input.enabled === undefined ? row.enabled : input.enabled === true;
    const target =
      input.target === undefined
        ? row.target
        : row.kind === 'email'
          ? normalizeEmail(input.target, 'target')
          : await this.checkUrl(input.target);
    const updated = await this.deps.db.transaction().execute(async (trx) => {
      const next = await trx
        .updateTable('alert_channels')
        .set({ name, enabled, target })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'alert_channel.update',
          organizationId,
          target: { type: 'alert_channel', id, label: name },
          details: { enabled, target: maskTarget(row.kind, target) },
        },
        trx,
      );
      return next;
    });
    return this.view(updated);
  }

  async remove(ctx: RequestContext, organizationId: string, id: string): Promise<void> {
    const row = await this.own(ctx.actor, organizationId, id);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('alert_channels').where('id', '=', id).execute();
      await this.deps.audit.record(
        ctx,
        { action: 'alert_channel.delete', organizationId, target: { type: 'alert_channel', id, label: row.name } },
        trx,
      );
    });
  }

  /** The channel, for a test send by an admin of its organization. */
  async forTest(actor: Actor, organizationId: string, id: string): Promise<Row & { secret: string | null }> {
    return this.own(actor, organizationId, id);
  }
}
