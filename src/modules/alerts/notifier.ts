import type { Db } from '../../db/database.js';
import type { Notices } from '../../platform/notices.js';
import type { IncidentEvent, IncidentNotifier } from '../uptime/store.js';
import type { AlertDeliveries } from './deliveries.js';
import type { AlertMessage } from './formats.js';
import { type RuleName, readRule } from './rules.js';

const TITLES: Record<RuleName, string> = { instance_down: 'Instance down' };

export interface AlertNotifierDeps {
  notices: Notices;
  deliveries: Pick<AlertDeliveries, 'drainSoon'>;
  publicUrl: string;
}

/** The message of an incident event, as every channel carries it. */
export function incidentMessage(e: IncidentEvent, publicUrl: string): AlertMessage {
  const failed = typeof e.details.failed === 'string' ? e.details.failed : null;
  const path = (e.details[failed === 'proxy' ? 'proxy' : 'direct'] ?? null) as { error?: string | null } | null;
  return {
    event: e.event,
    alert: { rule: e.kind, title: TITLES[e.kind], incidentId: e.incidentId, failed, error: path?.error ?? null },
    instance: {
      id: e.target.id,
      name: e.target.name,
      label: e.target.label,
      url: e.target.url,
      page: `${publicUrl}/instances/${e.target.id}`,
    },
    organization: { id: e.target.organizationId, name: e.target.organizationName },
    startedAt: e.openedAt.toISOString(),
    resolvedAt: e.resolvedAt?.toISOString() ?? null,
    details: { ...e.details, flaps: e.flaps },
  };
}

/**
 * Turns an incident's events into messages, in the transaction that changed the incident: an email
 * through the outbox for each email channel, a row of the webhook outbox for each webhook, each
 * once (dedupe keys). With no enabled channel at all, the organization's owners get the email: the
 * rule works out of the box.
 */
export class AlertNotifier implements IncidentNotifier {
  constructor(private readonly deps: AlertNotifierDeps) {}

  async ruleOf(db: Db, organizationId: string, kind: RuleName): Promise<{ enabled: boolean; repeatMs: number }> {
    const rule = await readRule(db, organizationId, kind);
    return { enabled: rule.enabled, repeatMs: rule.repeatMinutes * 60_000 };
  }

  async notify(trx: Db, e: IncidentEvent): Promise<void> {
    const message = incidentMessage(e, this.deps.publicUrl);
    const channels = await trx
      .selectFrom('alert_channels')
      .select(['id', 'kind', 'target'])
      .where('organization_id', '=', e.target.organizationId)
      .where('enabled', '=', true)
      .execute();
    let emails = channels.filter((c) => c.kind === 'email').map((c) => c.target);
    if (channels.length === 0) {
      const owners = await trx
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select('u.email')
        .where('m.organization_id', '=', e.target.organizationId)
        .where('m.role', '=', 'owner')
        .execute();
      emails = owners.map((o) => o.email);
    }
    // One key per incident, event and moment: a second Marina recording the same step adds nothing.
    const key = `alert:${e.incidentId}:${e.event}:${e.at.getTime()}`;
    for (const to of new Set(emails)) {
      await this.deps.notices.enqueue(trx, {
        key: e.event === 'resolved' ? 'alert_resolved' : 'alert_firing',
        to,
        organizationId: e.target.organizationId,
        dedupeKey: `${key}:${to}`,
        vars:
          e.event === 'resolved'
            ? {
                organization: e.target.organizationName,
                instance: e.target.label,
                title: message.alert.title,
                started_at: message.startedAt,
                resolved_at: message.resolvedAt,
                minutes: Math.max(1, Math.round(((e.resolvedAt ?? e.at).getTime() - e.openedAt.getTime()) / 60_000)),
                url: message.instance?.page,
              }
            : {
                organization: e.target.organizationName,
                instance: e.target.label,
                title: message.alert.title,
                repeat: e.event === 'repeat',
                failed: message.alert.failed ?? 'unknown',
                error: message.alert.error ?? 'no answer',
                started_at: message.startedAt,
                url: message.instance?.page,
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
