import { type NoticeKey, noticeKeys } from '../../platform/notices.js';
import { englishDefaults } from './defaults-en.js';
import type { MailTemplate } from './render.js';

/** One value a template may use: what callers pass in `vars`, and what the editor's preview uses. */
export interface NoticeVariable {
  name: string;
  description: string;
  sample: unknown;
}

export interface NoticeDefinition {
  key: NoticeKey;
  description: string;
  variables: NoticeVariable[];
}

// Instants are passed as ISO 8601 strings; the defaults print them with `| date: "%Y-%m-%d %H:%M"` (UTC).
const SAMPLE_AT = '2026-12-24T09:30:00.000Z';
const v = (name: string, description: string, sample: unknown): NoticeVariable => ({ name, description, sample });
const organization = v('organization', "The organization's name", 'Acme Corp');
const portalUrl = v('portal_url', "Marina's address, where the customer signs in", 'https://marina.example.com');

const definitions: Record<NoticeKey, Omit<NoticeDefinition, 'key'>> = {
  verify_email: {
    description: 'Sign-up: the link that proves the address and creates the organization.',
    variables: [
      v('email', 'The address being verified', 'ada@example.com'),
      v('url', 'The single-use verification link', 'https://marina.example.com/signup/verify#token=abc'),
      v('expires_at', 'When the link stops working (ISO 8601)', SAMPLE_AT),
    ],
  },
  signup_existing_account: {
    description: 'Sign-up with an address that already has an account: sign in or reset instead.',
    variables: [
      v('email', 'The address used', 'ada@example.com'),
      v('sign_in_url', 'The sign-in page', 'https://marina.example.com/login'),
      v('reset_url', 'The password-reset page', 'https://marina.example.com/password-reset'),
    ],
  },
  welcome: {
    description:
      'The first instance is ready: its address and a single-use link to its credentials (never a password).',
    variables: [
      organization,
      v('instance', "The instance's name", 'production'),
      v('instance_url', "The instance's address", 'https://acme.apps.example.com'),
      v(
        'credentials_url',
        'Single-use link that shows the credentials once',
        'https://marina.example.com/credentials#token=abc',
      ),
      v('credentials_expire_at', 'When the credentials link stops working (ISO 8601)', SAMPLE_AT),
      portalUrl,
    ],
  },
  invitation: {
    description: 'Someone was invited to join an organization.',
    variables: [
      v('invited_by', 'Who invited them', 'Grace Hopper'),
      organization,
      v('role', 'The role they will have', 'developer'),
      v('url', 'The single-use invitation link', 'https://marina.example.com/invitations/accept#token=abc'),
      v('expires_at', 'When the link stops working (ISO 8601)', SAMPLE_AT),
      v('account_exists', 'Whether the address already has an account (true/false)', false),
      portalUrl,
    ],
  },
  password_reset: {
    description: 'A password reset was asked for this address.',
    variables: [
      v('email', 'The account', 'ada@example.com'),
      v('url', 'The single-use reset link', 'https://marina.example.com/password-reset#token=abc'),
      v('expires_at', 'When the link stops working (ISO 8601)', SAMPLE_AT),
    ],
  },
  send_access: {
    description: "An instance's access was sent to someone: its address and a single-use credentials link.",
    variables: [
      organization,
      v('instance', "The instance's name", 'production'),
      v('instance_url', "The instance's address", 'https://acme.apps.example.com'),
      v(
        'credentials_url',
        'Single-use link that shows the credentials once',
        'https://marina.example.com/credentials#token=abc',
      ),
      v('credentials_expire_at', 'When the link stops working (ISO 8601)', SAMPLE_AT),
      v('sent_by', 'Who sent it', 'Grace Hopper'),
    ],
  },
  trial_reminder: {
    description: 'The trial ends soon (sent N days before its end).',
    variables: [
      organization,
      v('plan', "The plan's name", 'Starter'),
      v('days_left', 'Whole days left', 3),
      v('trial_ends_at', 'When the trial ends (ISO 8601)', SAMPLE_AT),
      portalUrl,
    ],
  },
  trial_ended: {
    description: 'The trial ended: instances are stopped until a plan is chosen.',
    variables: [
      organization,
      v('plan', "The plan's name", 'Starter'),
      v('grace_ends_at', 'When the instances are deleted if nothing is done (ISO 8601)', SAMPLE_AT),
      portalUrl,
    ],
  },
  suspended: {
    description: 'The organization was suspended: nothing starts, backups stay downloadable.',
    variables: [
      organization,
      v('reason', 'Why (trial_ended, past_due, operator…)', 'operator'),
      v('since', 'Since when (ISO 8601)', SAMPLE_AT),
      portalUrl,
    ],
  },
  resumed: {
    description: 'The organization was resumed: its instances may start again.',
    variables: [organization, portalUrl],
  },
  plan_changed: {
    description: "The organization's plan changed.",
    variables: [
      organization,
      v('old_plan', 'The previous plan', 'Starter'),
      v('new_plan', 'The new plan', 'Business'),
      portalUrl,
    ],
  },
  deletion_notice: {
    description: 'The instances were deleted; their final backups stay downloadable until they expire.',
    variables: [
      organization,
      v('backups', 'The final backups: a list of {instance, expires_at, url}', [
        { instance: 'production', expires_at: SAMPLE_AT, url: 'https://marina.example.com/backups/1/download' },
      ]),
      portalUrl,
    ],
  },
  quota_warning: {
    description: 'A limit of the plan is nearly reached (80 %) or reached (100 %).',
    variables: [
      organization,
      v('plan', "The plan's name", 'Starter'),
      v('limit', 'Which limit, in words', 'backup storage (GB)'),
      v('usage', 'What is used', 8),
      v('allowed', 'What the plan allows', 10),
      v('percent', '80 or 100', 80),
      portalUrl,
    ],
  },
  backup_failed: {
    description: "A backup, its verification or its offsite copy failed (to the organization's owners and admins).",
    variables: [
      organization,
      v('title', 'What happened, in a few words', 'Scheduled backup failed'),
      v('instance', 'The instance, as org/project/instance', 'acme/shop/production'),
      v('what', 'backup, upload or verification', 'backup'),
      v('destination', 'The offsite destination for uploads, else empty', ''),
      v('trigger', 'What started it (schedule, manual…)', 'schedule'),
      v('at', 'When (ISO 8601)', SAMPLE_AT),
      v('error', 'The error', 'pg_dump: connection refused'),
      v('url', "The instance's backups page", 'https://marina.example.com/instances/1/backups'),
    ],
  },
  alert_firing: {
    description:
      "An alert fires (an instance down, memory, storage, backups, certificates…), and again after the rule's repeat interval while it lasts.",
    variables: [
      organization,
      v('instance', 'What it is about: project/instance, a domain, a host', 'shop/production'),
      v('title', 'What fires, in a few words', 'Instance down'),
      v('repeat', 'true when this repeats an alert still firing', false),
      v('summary', 'What is wrong, in a sentence', 'The direct check failed: ECONNREFUSED.'),
      v('advice', 'What to do about it', 'Open the instance: its logs tell why Odoo stopped answering.'),
      v('started_at', 'When it started (ISO 8601)', SAMPLE_AT),
      v('url', 'Its page in Marina', 'https://marina.example.com/instances/1'),
    ],
  },
  alert_resolved: {
    description: 'A fired alert is over (the instance answers again, the backup is taken…).',
    variables: [
      organization,
      v('instance', 'What it was about: project/instance, a domain, a host', 'shop/production'),
      v('title', 'What fired, in a few words', 'Instance down'),
      v('started_at', 'When it started (ISO 8601)', SAMPLE_AT),
      v('resolved_at', 'When it ended (ISO 8601)', SAMPLE_AT),
      v('minutes', 'How long it lasted, in minutes', 12),
      v('url', 'Its page in Marina', 'https://marina.example.com/instances/1'),
    ],
  },
  alert_test: {
    description: "The test button of an organization's email alert channel.",
    variables: [organization, v('url', "The organization's alert settings in Marina", 'https://marina.example.com')],
  },
  invoice_issued: {
    description: 'An invoice was issued to the organization (a new period, a plan change).',
    variables: [
      organization,
      v('number', "The invoice's number", 'INV-2027-000123'),
      v('total', 'What is due, with its currency', 'USD 115.00'),
      v('due_at', 'When it is due (ISO 8601)', SAMPLE_AT),
      v('url', 'The billing page, where it is paid and downloaded', 'https://marina.example.com/o/acme/billing'),
    ],
  },
  payment_received: {
    description: 'An invoice was paid (a provider confirmed it, or the platform admin recorded a transfer).',
    variables: [
      organization,
      v('number', "The invoice's number", 'INV-2027-000123'),
      v('total', 'What was paid, with its currency', 'USD 115.00'),
      v('via', 'How it was paid', 'Stripe'),
      v('url', 'The billing page', 'https://marina.example.com/o/acme/billing'),
    ],
  },
  payment_reminder: {
    description: 'Dunning: an invoice is overdue; sent on the configured days after its due date.',
    variables: [
      organization,
      v('number', "The invoice's number", 'INV-2027-000123'),
      v('total', 'What is due, with its currency', 'USD 115.00'),
      v('due_at', 'When it was due (ISO 8601)', SAMPLE_AT),
      v('suspend_at', 'When the organization is suspended unless it is paid (ISO 8601)', SAMPLE_AT),
      v('url', 'The billing page, where it is paid', 'https://marina.example.com/o/acme/billing'),
    ],
  },
};

export const catalogue: NoticeDefinition[] = noticeKeys.map((key) => ({ key, ...definitions[key] }));

export const isNoticeKey = (key: string): key is NoticeKey => (noticeKeys as readonly string[]).includes(key);

export function definitionOf(key: NoticeKey): NoticeDefinition {
  return { key, ...definitions[key] };
}

/** The preview's and the save check's values: every variable's sample. */
export function sampleVars(key: NoticeKey): Record<string, unknown> {
  return Object.fromEntries(definitions[key].variables.map((variable) => [variable.name, variable.sample]));
}

/** The variables a caller did not pass (templates are strict: a missing one would fail at send time). */
export function missingVars(key: NoticeKey, vars: Record<string, unknown>): string[] {
  return definitions[key].variables.map((variable) => variable.name).filter((name) => !Object.hasOwn(vars, name));
}

/** Only English is shipped; other languages are the platform admin's overrides. */
export const DEFAULT_LOCALE = 'en';

export function defaultTemplate(key: NoticeKey): MailTemplate {
  return englishDefaults[key];
}
