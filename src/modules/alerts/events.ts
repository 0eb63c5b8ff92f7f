import type { Db } from '../../db/database.js';
import type { IncidentKind } from '../../db/schema-metrics.js';

/** What an alert is about, as its messages name it. */
export interface AlertTarget {
  /** The instance, when the alert is about one. */
  instanceId: string | null;
  name: string;
  /** As users read it: `project/instance`, a domain, a host, an organization. */
  label: string;
  /** Its public address, when it has one. */
  url: string | null;
  /** Null: the platform's own (a host's disk); its admins are told. */
  organizationId: string | null;
  organizationName: string;
  /** Marina's page about it, from the public URL (`/instances/…`). */
  path: string;
}

/** What the alerts are told, inside the transaction that changed the incident. */
export interface IncidentEvent {
  event: 'firing' | 'repeat' | 'resolved';
  /** The check (or moment) that caused it: with the incident and event, the message's identity. */
  at: Date;
  incidentId: string;
  kind: IncidentKind;
  target: AlertTarget;
  openedAt: Date;
  resolvedAt: Date | null;
  /** What was found; `summary` is the sentence a person reads. */
  details: Record<string, unknown>;
  /** Times this incident was reopened by flapping. */
  flaps: number;
}

export interface IncidentNotifier {
  /** The organization's rule for this kind (the platform's for null): on or off, and its repeat interval. */
  ruleOf(db: Db, organizationId: string | null, kind: IncidentKind): Promise<{ enabled: boolean; repeatMs: number }>;
  notify(trx: Db, event: IncidentEvent): Promise<void>;
}
