import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import { requirePermission } from '../../platform/permissions.js';
import { invalid, isUuid } from '../../platform/validation.js';

/**
 * The alert rules an organization switches and tunes. Only `instance_down` exists so far; the others
 * of issue #15 (memory, host disk, quota, backup age, offsite copy, certificate, failing jobs) add a
 * name here with their defaults, and their settings live in the same row's `settings` jsonb.
 */
export const ruleNames = ['instance_down'] as const;
export type RuleName = (typeof ruleNames)[number];

export interface RuleView {
  rule: RuleName;
  enabled: boolean;
  /** A still-firing alert is sent again after this many minutes. */
  repeatMinutes: number;
}

/** Defaults that work out of the box: every rule on, repeated every 4 hours. */
export const ruleDefaults: Record<RuleName, Omit<RuleView, 'rule'>> = {
  instance_down: { enabled: true, repeatMinutes: 240 },
};

const REPEAT = { min: 10, max: 7 * 24 * 60 };

export async function readRule(db: Db, organizationId: string, rule: RuleName): Promise<RuleView> {
  const row = await db
    .selectFrom('alert_rules')
    .select(['enabled', 'settings'])
    .where('organization_id', '=', organizationId)
    .where('rule', '=', rule)
    .executeTakeFirst();
  const repeat = row?.settings.repeatMinutes;
  return {
    rule,
    enabled: row?.enabled ?? ruleDefaults[rule].enabled,
    repeatMinutes: typeof repeat === 'number' ? repeat : ruleDefaults[rule].repeatMinutes,
  };
}

export class AlertRuleService {
  constructor(private readonly deps: { db: Db; audit: AuditService }) {}

  async list(actor: Actor, organizationId: string): Promise<RuleView[]> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    await requirePermission(this.deps.db, actor, organizationId, 'alerts.manage');
    return Promise.all(ruleNames.map((rule) => readRule(this.deps.db, organizationId, rule)));
  }

  async set(
    ctx: RequestContext,
    organizationId: string,
    rule: string,
    input: { enabled?: unknown; repeatMinutes?: unknown },
  ): Promise<RuleView> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    await requirePermission(this.deps.db, ctx.actor, organizationId, 'alerts.manage');
    if (!(ruleNames as readonly string[]).includes(rule)) throw notFound('Alert rule');
    const name = rule as RuleName;
    const current = await readRule(this.deps.db, organizationId, name);
    const enabled = input.enabled === undefined ? current.enabled : input.enabled === true;
    const repeat = input.repeatMinutes ?? current.repeatMinutes;
    if (typeof repeat !== 'number' || !Number.isInteger(repeat) || repeat < REPEAT.min || repeat > REPEAT.max)
      throw invalid('repeatMinutes', `repeatMinutes is a whole number of minutes from ${REPEAT.min} to ${REPEAT.max}.`);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('alert_rules')
        .values({
          organization_id: organizationId,
          rule: name,
          enabled,
          settings: JSON.stringify({ repeatMinutes: repeat }),
        })
        .onConflict((oc) =>
          oc
            .columns(['organization_id', 'rule'])
            .doUpdateSet({ enabled, settings: JSON.stringify({ repeatMinutes: repeat }) }),
        )
        .execute();
      await this.deps.audit.record(
        ctx,
        {
          action: 'alert_rule.update',
          organizationId,
          target: { type: 'alert_rule', id: `${organizationId}/${name}`, label: name },
          details: { enabled, repeatMinutes: repeat },
        },
        trx,
      );
    });
    return { rule: name, enabled, repeatMinutes: repeat };
  }
}
