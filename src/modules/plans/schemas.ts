import { Type } from 'typebox';
import { DateTime, Nullable } from '../../platform/http/schemas.js';

/** A limit: a whole number, or null for no limit. */
const Limit = Nullable(Type.Integer({ minimum: 0, maximum: 2_000_000_000 }));

/** A plan's limits; null is unlimited. Instances' sizes are per instance, the rest per organization. */
export const PlanLimits = Type.Object(
  {
    maxProduction: Limit,
    maxStaging: Limit,
    maxDevelopment: Limit,
    /** CPUs per instance, one decimal at most. */
    maxCpus: Nullable(Type.Number({ minimum: 0, maximum: 999.9 })),
    maxMemoryMb: Limit,
    maxWorkers: Limit,
    /** Database + filestore of the whole organization, in MB. */
    storageMb: Limit,
    backupKeepDaily: Limit,
    backupKeepWeekly: Limit,
    backupKeepMonthly: Limit,
    /** Verified offsite copies of the organization, in MB; 0 means no offsite copies. */
    offsiteMb: Limit,
    maxCustomDomains: Limit,
  },
  { title: 'PlanLimits', additionalProperties: false },
);

/** A price in integer minor units of its currency (cents for EUR, yen for JPY): never a float. */
export const PlanPrice = Type.Object(
  {
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, upper case' }),
    period: Type.Union([Type.Literal('month'), Type.Literal('year')]),
    amountMinor: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { title: 'PlanPrice', additionalProperties: false },
);

export const Plan = Type.Object(
  {
    id: Type.String(),
    slug: Type.String(),
    name: Type.String(),
    description: Type.String(),
    public: Type.Boolean(),
    sort: Type.Integer(),
    limits: PlanLimits,
    stagingAllowed: Type.Boolean(),
    trialDays: Type.Integer(),
    uptimeIntervalSeconds: Nullable(
      Type.Integer({ description: 'Seconds between uptime checks of production instances; null: the platform’s' }),
    ),
    prices: Type.Array(PlanPrice),
    archivedAt: Nullable(DateTime),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'Plan' },
);

/** What sign-up shows of a public plan: no internal fields. */
export const PublicPlan = Type.Object(
  {
    id: Type.String(),
    slug: Type.String(),
    name: Type.String(),
    description: Type.String(),
    limits: PlanLimits,
    stagingAllowed: Type.Boolean(),
    trialDays: Type.Integer(),
    prices: Type.Array(PlanPrice),
  },
  { title: 'PublicPlan' },
);

const planFields = {
  slug: Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' }),
  name: Type.String({ minLength: 1, maxLength: 100 }),
  description: Type.String({ maxLength: 2000 }),
  public: Type.Boolean(),
  sort: Type.Integer({ minimum: -100000, maximum: 100000 }),
  limits: Type.Partial(PlanLimits),
  stagingAllowed: Type.Boolean(),
  trialDays: Type.Integer({ minimum: 0, maximum: 3650 }),
  uptimeIntervalSeconds: Nullable(Type.Integer({ minimum: 10, maximum: 3600 })),
  prices: Type.Array(PlanPrice, { maxItems: 50 }),
};

export const NewPlanBody = Type.Object(
  {
    ...planFields,
    description: Type.Optional(planFields.description),
    public: Type.Optional(planFields.public),
    sort: Type.Optional(planFields.sort),
    limits: Type.Optional(planFields.limits),
    stagingAllowed: Type.Optional(planFields.stagingAllowed),
    trialDays: Type.Optional(planFields.trialDays),
    uptimeIntervalSeconds: Type.Optional(planFields.uptimeIntervalSeconds),
    prices: Type.Optional(planFields.prices),
  },
  { additionalProperties: false },
);

export const PlanPatchBody = Type.Partial(Type.Object(planFields), { additionalProperties: false });

/** One thing that is over a limit, and what would bring it back under. */
export const QuotaProblem = Type.Object(
  {
    limit: Type.String(),
    usage: Type.Number(),
    allowed: Type.Number(),
    remove: Type.String({ description: 'What to do, in words: "delete 1 staging instance"' }),
  },
  { title: 'QuotaProblem' },
);

const Can = Type.Object({ ok: Type.Boolean(), reason: Nullable(Type.String()) });

/** An organization's plan, its limits and what it uses, and what it may still do. */
export const OrganizationUsage = Type.Object(
  {
    plan: Nullable(Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String() })),
    status: Nullable(Type.String({ description: 'The subscription status; null without a subscription' })),
    suspendedKind: Nullable(
      Type.String({ description: 'Why a suspended organization is suspended: trial_ended, admin or past_due' }),
    ),
    trialEndsAt: Nullable(DateTime),
    limits: Nullable(PlanLimits),
    stagingAllowed: Type.Boolean(),
    usage: Type.Object({
      production: Type.Integer(),
      staging: Type.Integer(),
      development: Type.Integer(),
      customDomains: Type.Integer(),
      storageBytes: Type.Number(),
      offsiteBytes: Type.Number(),
      measuredAt: Nullable(DateTime),
    }),
    can: Type.Object({
      createProduction: Can,
      createStaging: Can,
      createDevelopment: Can,
      addDomain: Can,
      addData: Can,
      offsite: Can,
      start: Can,
    }),
  },
  { title: 'OrganizationUsage' },
);
