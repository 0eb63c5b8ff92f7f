import { Type } from 'typebox';
import { DateTime, Nullable } from '../../platform/http/schemas.js';
import type { Subscription } from './service.js';

/** A subscription's lifecycle as the platform admin sees it (the reason is theirs; never public). */
export const SubscriptionState = Type.Object(
  {
    organizationId: Type.String(),
    planId: Type.String(),
    status: Type.Union([
      Type.Literal('trialing'),
      Type.Literal('active'),
      Type.Literal('past_due'),
      Type.Literal('suspended'),
      Type.Literal('cancelled'),
    ]),
    trialStartedAt: Nullable(DateTime),
    trialEndsAt: Nullable(DateTime),
    activatedAt: Nullable(DateTime),
    suspendedAt: Nullable(DateTime),
    suspendedKind: Nullable(Type.Union([Type.Literal('trial_ended'), Type.Literal('admin'), Type.Literal('past_due')])),
    suspendedReason: Nullable(Type.String()),
    graceEndsAt: Nullable(DateTime),
    deletionStartedAt: Nullable(DateTime),
    cancelledAt: Nullable(DateTime),
  },
  { title: 'SubscriptionState' },
);

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const subscriptionState = (s: Subscription) => ({
  organizationId: s.organization_id,
  planId: s.plan_id,
  status: s.status,
  trialStartedAt: iso(s.trial_started_at),
  trialEndsAt: iso(s.trial_ends_at),
  activatedAt: iso(s.activated_at),
  suspendedAt: iso(s.suspended_at),
  suspendedKind: s.suspended_kind,
  suspendedReason: s.suspended_reason,
  graceEndsAt: iso(s.grace_ends_at),
  deletionStartedAt: iso(s.deletion_started_at),
  cancelledAt: iso(s.cancelled_at),
});

export const CustomerRow = Type.Object(
  {
    organization: Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String() }),
    plan: Nullable(Type.Object({ id: Type.String(), name: Type.String() })),
    status: Nullable(Type.String()),
    trialEndsAt: Nullable(DateTime),
    instances: Type.Integer(),
    storageBytes: Type.Number(),
    storageLimitBytes: Nullable(Type.Number()),
    lastBackupAt: Nullable(DateTime),
    monthlyPriceMinor: Nullable(Type.Number()),
    currency: Nullable(Type.String()),
  },
  { title: 'CustomerRow' },
);

export const CustomersOverview = Type.Object(
  {
    rows: Type.Array(CustomerRow),
    totals: Type.Object({
      organizations: Type.Integer(),
      byStatus: Type.Record(Type.String(), Type.Integer()),
      instances: Type.Integer(),
      storageBytes: Type.Number(),
      mrrMinor: Type.Record(Type.String(), Type.Number()),
    }),
    nextCursor: Nullable(Type.String()),
  },
  { title: 'CustomersOverview' },
);
