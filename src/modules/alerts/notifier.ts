import type { Db } from '../../db/database.js';
import type { IncidentKind } from '../../db/schema-metrics.js';
import type { Notices } from '../../platform/notices.js';
import { catalogue } from './catalogue.js';
import type { AlertDeliveries } from './deliveries.js';
import type { IncidentEvent, IncidentNotifier } from './events.js';
import type { AlertMessage } from './formats.js';
import { readRule } from './rules.js';

export interface AlertNotifierDeps {
  notices: Notices;
  deliveries: Pick<AlertDeliveries, 'drainSoon'>;
  publicUrl: string;
}

/** The platform's own rules are on, repeated every 4 hours. */
const PLATFORM_RULE = { enabled: true, repeatMs: 4 * 3600_000 };

/** The sentence a person reads: the finding's own, or what the failing uptime check answered. */
function summaryOf(e: IncidentEvent): { summary: string; failed: string | null; error: string | null } {
  const failed = typeof e.details.failed === 'string' ? e.details.failed : null;
  const path = (e.details[failed === 'proxy' ? 'proxy' : 'direct'] ?? null) as { error?: string | null } | null;
  const error = path?.error ?? null;
  if (typeof e.details.summary === 'string') return { summary: e.details.summary, failed, error };
  return { summary: `The ${failed ?? 'uptime'} check failed: ${error ?? 'no answer'}.`, failed, error };
}

/** The message of an incident event, as every channel carries it. */
export function incidentMessage(e: IncidentEvent, publicUrl: string): AlertMessage {
  const { summary, failed, error } = summaryOf(e);
  const page = `${publicUrl}${e.target.path}`;
  return {
    event: e.event,
    alert: {
      rule: e.kind,
      title: catalogue[e.kind].title,
      incidentId: e.incidentId,
      failed,
      error,
      summary,
      advice: catalogue[e.kind].advice,
    },
    instance:
      e.target.instanceId === null
        ? null
        : { id: e.target.instanceId, name: e.target.name, label: e.target.label, url: e.target.url, page },
    subject: { label: e.target.label, page },
    organization: { id: e.target.organizationId, name: e.target.organizationName },
    startedAt: e.openedAt.toISOString(),
    resolvedAt: e.resolvedAt?.toISOString() ?? null,
    details: { ...e.details, flaps: e.flaps },
  };
}

async function ownersOf(trx: Db, organizationId: string | null): Promise<string[]> {
  // The platform's own alerts go to its admins; an organization's to its owners.
  const rows =
    organizationId === null
      ? await trx.selectFrom('users').select('email').where('is_platform_admin', '=', true).execute()
      : await trx
          .selectFrom('memberships as m')
          .innerJoin('users as u', 'u.id', 'm.user_id')
          .select('u.email')
          .where('m.organization_id', '=', organizationId)
          .where('m.role', '=', 'owner')
          .execute();
  return rows.map((r) => r.email);
}

/**
 * Turns an incident's events into messages, in the transaction that changed the incident: an email
 * through the outbox for each email channel, a row of the webhook outbox for each webhook, each
 * once (dedupe keys). With no enabled channel at all, the organization's owners get the email: the
 * rule works out of the box.
 */
export class AlertNotifier implements IncidentNotifier {
  constructor(private readonly deps: AlertNotifierDeps) {}

  async ruleOf(db: Db, organizationId: string | null, kind: IncidentKind) {
    if (organizationId === null) return PLATFORM_RULE;
    const rule = await readRule(db, organizationId, kind);
    return { enabled: rule.enabled, repeatMs: rule.repeatMinutes * 60_000 };
  }

  async notify(trx: Db, e: IncidentEvent): Promise<void> {
    const message = incidentMessage(e, this.deps.publicUrl);
    const organizationId = e.target.organizationId;
    const channels =
      organizationId === null
        ? []
        : await trx
            .selectFrom('alert_channels')
            .select(['id', 'kind', 'target'])
            .where('organization_id', '=', organizationId)
            .where('enabled', '=', true)
            .execute();
    let emails = channels.filter((c) => c.kind === 'email').map((c) => c.target);
    if (channels.length === 0) emails = await ownersOf(trx, organizationId);
    // One key per incident, event and moment: a second Marina recording the same step adds nothing.
    const key = `alert:${e.incidentId}:${e.event}:${e.at.getTime()}`;
    const common = {
      organization: e.target.organizationName,
      instance: e.target.label,
      title: message.alert.title,
      started_at: message.startedAt,
      url: `${this.deps.publicUrl}${e.target.path}`,
    };
    for (const to of new Set(emails)) {
      await this.deps.notices.enqueue(trx, {
        key: e.event === 'resolved' ? 'alert_resolved' : 'alert_firing',
        to,
        organizationId,
        dedupeKey: `${key}:${to}`,
        vars:
          e.event === 'resolved'
            ? {
                ...common,
                resolved_at: message.resolvedAt,
                minutes: Math.max(1, Math.round(((e.resolvedAt ?? e.at).getTime() - e.openedAt.getTime()) / 60_000)),
              }
            : {
                ...common,
                repeat: e.event === 'repeat',
                summary: message.alert.summary,
                advice: message.alert.advice,
              },
      });
    }
    const hooks = channels.filter((c) => c.kind !== 'email');
    if (hooks.length > 0) {
      await trx
        .insertInto('alert_deliveries')
        .values(
          hooks.map((c) => ({
            channel_id: c.id,
            incident_id: e.incidentId,
            event: e.event,
            dedupe_key: `${key}:${c.id}`,
            payload: JSON.stringify(message),
          })),
        )
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .execute();
      this.deps.deliveries.drainSoon();
    }
  }
}
