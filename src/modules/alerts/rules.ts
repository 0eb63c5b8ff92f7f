import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import { requirePermission } from '../../platform/permissions.js';
import { invalid, isUuid } from '../../platform/validation.js';
import { catalogue, isRuleName, type RuleField, type RuleName, ruleNames } from './catalogue.js';

export { type RuleName, ruleNames } from './catalogue.js';

export interface RuleView {
  rule: RuleName;
  title: string;
  description: string;
  enabled: boolean;
  /** A still-firing alert is sent again after this many minutes. */
  repeatMinutes: number;
  /** The rule's tunable numbers (its fields), defaults filled in. */
  settings: Record<string, number>;
  fields: RuleField[];
}

const REPEAT = { min: 10, max: 7 * 24 * 60, default: 240 };

/** A rule as stored for an organization: defaults where it changed nothing, values kept in bounds. */
export function ruleView(rule: RuleName, row: { enabled: boolean; settings: Record<string, unknown> } | undefined) {
  const entry = catalogue[rule];
  const stored = row?.settings ?? {};
  const settings: Record<string, number> = {};
  for (const f of entry.fields) {
    const value = stored[f.name];
    settings[f.name] =
      typeof value === 'number' && Number.isInteger(value) && value >= f.min && value <= f.max ? value : f.default;
  }
  const repeat = stored.repeatMinutes;
  return {
    rule,
    title: entry.title,
    description: entry.description,
    enabled: row?.enabled ?? true,
    repeatMinutes: typeof repeat === 'number' ? repeat : REPEAT.default,
    settings,
    fields: entry.fields,
  } satisfies RuleView;
}

export async function readRule(db: Db, organizationId: string, rule: RuleName): Promise<RuleView> {
  const row = await db
    .selectFrom('alert_rules')
    .select(['enabled', 'settings'])
    .where('organization_id', '=', organizationId)
    .where('rule', '=', rule)
    .executeTakeFirst();
  return ruleView(rule, row);
}

/** One rule for every organization at once: a lookup by organization (defaults where nothing changed). */
export async function ruleLookup(db: Db, rule: RuleName): Promise<(organizationId: string) => RuleView> {
  const rows = await db
    .selectFrom('alert_rules')
    .select(['organization_id', 'enabled', 'settings'])
    .where('rule', '=', rule)
    .execute();
  const stored = new Map(rows.map((r) => [r.organization_id, ruleView(rule, r)]));
  const defaults = ruleView(rule, undefined);
  return (organizationId) => stored.get(organizationId) ?? defaults;
}

function checkedSettings(rule: RuleName, current: Record<string, number>, input: unknown): Record<string, number> {
  if (input === undefined) return current;
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw invalid('settings', 'settings is an object of numbers.');
  const next = { ...current };
  for (const [name, value] of Object.entries(input)) {
    const f = catalogue[rule].fields.find((x) => x.name === name);
    if (!f) throw invalid(`settings.${name}`, `The rule ${rule} has no setting ${name}.`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < f.min || value > f.max)
      throw invalid(`settings.${name}`, `${f.label} is a whole number from ${f.min} to ${f.max}.`);
    next[name] = value;
  }
  return next;
}

export class AlertRuleService {
  constructor(private readonly deps: { db: Db; audit: AuditService }) {}

  /** The rules an organization tunes (the platform's own, such as a host's disk, are not theirs). */
  async list(actor: Actor, organizationId: string): Promise<RuleView[]> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    await requirePermission(this.deps.db, actor, organizationId, 'alerts.manage');
    const names = ruleNames.filter((r) => catalogue[r].scope === 'organization');
    return Promise.all(names.map((rule) => readRule(this.deps.db, organizationId, rule)));
  }

  async set(
    ctx: RequestContext,
    organizationId: string,
    rule: string,
    input: { enabled?: unknown; repeatMinutes?: unknown; settings?: unknown },
  ): Promise<RuleView> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    await requirePermission(this.deps.db, ctx.actor, organizationId, 'alerts.manage');
    if (!isRuleName(rule) || catalogue[rule].scope !== 'organization') throw notFound('Alert rule');
    const current = await readRule(this.deps.db, organizationId, rule);
    const enabled = input.enabled === undefined ? current.enabled : input.enabled === true;
    const repeat = input.repeatMinutes ?? current.repeatMinutes;
    if (typeof repeat !== 'number' || !Number.isInteger(repeat) || repeat < REPEAT.min || repeat > REPEAT.max)
      throw invalid('repeatMinutes', `repeatMinutes is a whole number of minutes from ${REPEAT.min} to ${REPEAT.max}.`);
    const settings = checkedSettings(rule, current.settings, input.settings);
    const stored = JSON.stringify({ ...settings, repeatMinutes: repeat });
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('alert_rules')
        .values({ organization_id: organizationId, rule, enabled, settings: stored })
        .onConflict((oc) => oc.columns(['organization_id', 'rule']).doUpdateSet({ enabled, settings: stored }))
        .execute();
      await this.deps.audit.record(
        ctx,
        {
          action: 'alert_rule.update',
          organizationId,
          target: { type: 'alert_rule', id: `${organizationId}/${rule}`, label: rule },
          details: { enabled, repeatMinutes: repeat, settings },
        },
        trx,
      );
    });
    return { ...current, enabled, repeatMinutes: repeat, settings };
  }
}

/** A rule's setting by name (the field's default when it has none). */
export function settingOf(view: RuleView, name: string): number {
  return view.settings[name] ?? view.fields.find((f) => f.name === name)?.default ?? 0;
}
