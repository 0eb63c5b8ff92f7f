import type { IncidentKind } from '../../db/schema-metrics.js';

/** A number an organization may tune on a rule, with its bounds. */
export interface RuleField {
  name: string;
  label: string;
  unit: string;
  min: number;
  max: number;
  default: number;
}

export interface RuleEntry {
  title: string;
  description: string;
  /** What the person told should do about it: the message carries it. */
  advice: string;
  /** `platform`: about Marina's own hosts, told to the platform's admins, tuned by settings. */
  scope: 'organization' | 'platform';
  fields: RuleField[];
}

const field = (name: string, label: string, unit: string, min: number, max: number, value: number): RuleField => ({
  name,
  label,
  unit,
  min,
  max,
  default: value,
});

/** Every rule, with defaults that work out of the box (all on, repeated every 4 hours). */
export const catalogue: Record<IncidentKind, RuleEntry> = {
  instance_down: {
    title: 'Instance down',
    description: 'A production instance fails its uptime checks (through the proxy, directly, or both).',
    advice: 'Open the instance: its logs tell why Odoo stopped answering; start or restart it.',
    scope: 'organization',
    fields: [],
  },
  memory_high: {
    title: 'Memory near its limit',
    description: 'An instance uses more than a share of its memory limit for a while.',
    advice: 'Give the instance more memory (a larger plan or resize), or find the worker that grows in its logs.',
    scope: 'organization',
    fields: [
      field('percent', 'Share of the limit', '%', 50, 100, 90),
      field('minutes', 'For at least', 'min', 2, 60, 10),
    ],
  },
  host_disk: {
    title: 'Host disk almost full',
    description: 'The disk holding Marina’s data on a host is fuller than a share of its size.',
    advice: 'Free space (old backups, unused images) or grow the disk before databases stop writing.',
    scope: 'platform',
    fields: [field('percent', 'Share of the disk', '%', 50, 99, 85)],
  },
  storage_quota: {
    title: 'Storage near the quota',
    description: 'The organization’s databases and files take more than a share of its plan’s storage.',
    advice: 'Remove what is not needed (old instances, attachments) or move to a plan with more storage.',
    scope: 'organization',
    fields: [field('percent', 'Share of the quota', '%', 50, 100, 90)],
  },
  backup_stale: {
    title: 'No recent backup',
    description: 'An instance with scheduled backups has no completed backup for a while.',
    advice: 'Open the instance’s backups: the last scheduled job tells why it failed; take a backup now.',
    scope: 'organization',
    fields: [field('hours', 'No completed backup for', 'h', 2, 24 * 14, 26)],
  },
  offsite_failed: {
    title: 'Offsite copy failed',
    description: 'The latest copy of an instance’s backup to an offsite destination failed.',
    advice: 'Check the destination (credentials, space, address) and copy the backup again.',
    scope: 'organization',
    fields: [],
  },
  certificate: {
    title: 'Certificate expiring',
    description: 'A domain’s certificate expires soon or could not be renewed.',
    advice: 'Check that the domain still points at Marina (DNS) and renew the certificate from the domain’s page.',
    scope: 'organization',
    fields: [field('days', 'Expires within', 'days', 1, 60, 14)],
  },
  job_failing: {
    title: 'Job failing repeatedly',
    description: 'The same job on an instance failed several times in a row.',
    advice: 'Open the last failed job: its log tells what went wrong.',
    scope: 'organization',
    fields: [field('count', 'Failures in a row', '', 2, 20, 3)],
  },
  node_down: {
    title: 'Cluster node down',
    description: 'Swarm reports a node of the cluster down: its instances are unavailable.',
    advice:
      'Bring the node back (its Docker engine, its network), or recover its instances on another node from their latest backups.',
    scope: 'platform',
    fields: [],
  },
};

export const ruleNames = Object.keys(catalogue) as IncidentKind[];
export type RuleName = IncidentKind;

export const isRuleName = (value: string): value is RuleName => Object.hasOwn(catalogue, value);
