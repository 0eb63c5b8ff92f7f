import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { BillingTables } from './schema-billing.js';
import type { HostsTable } from './schema-cluster.js';
import type { PushHookDeliveriesTable, RepositoriesTable, RepositoryCheckoutsTable } from './schema-code.js';
import type {
  CaughtMailsTable,
  DomainsTable,
  EdgeWildcardCertificatesTable,
  InstanceMailServersTable,
  InstanceProtection,
} from './schema-edge.js';
import type { MetricsTables } from './schema-metrics.js';
import type { OidcTables } from './schema-oidc.js';
import type { SelfServiceTables } from './schema-selfservice.js';
import type { SignupTables } from './schema-signup.js';
import type { TemplateTables } from './schema-templates.js';
import type { RestoreUndoColumns } from './schema-undo.js';

export type * from './schema-billing.js';
export type * from './schema-code.js';
export type * from './schema-edge.js';
export type * from './schema-oidc.js';
export type * from './schema-selfservice.js';
export type * from './schema-signup.js';
export type * from './schema-templates.js';

export type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** Highest first; what each may do is in src/platform/permissions.ts. */
export type MemberRole = 'owner' | 'admin' | 'developer' | 'viewer';
export const memberRoles: readonly MemberRole[] = ['owner', 'admin', 'developer', 'viewer'];

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string;
  password_hash: string | null;
  is_platform_admin: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  password_changed_at: NullableTimestamp;
  /** Set by a platform admin: the account can neither sign in nor use its sessions or tokens. */
  disabled_at: NullableTimestamp;
  /** When the owner of the address proved it (a link only their mailbox got); null: never. */
  email_verified_at: NullableTimestamp;
  /** The language of the mails they get ('en' is shipped; others fall back to it). */
  locale: ColumnType<string, string | undefined, string>;
}

export interface OrganizationsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  created_at: CreatedAt;
  /** A platform admin lets this organization use file:// repositories (under the platform's root). */
  allow_file_repositories: Generated<boolean>;
}

export interface MembershipsTable {
  organization_id: string;
  user_id: string;
  role: MemberRole;
  created_at: CreatedAt;
}

export interface SessionsTable {
  id: Generated<string>;
  token_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: CreatedAt;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  ip: string | null;
  user_agent: string | null;
  ended_at: NullableTimestamp;
  /** A platform admin's read-only session opened as this organization (support). */
  impersonating_organization_id: ColumnType<string | null, string | null | undefined, never>;
}

export interface ApiTokensTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  token_hash: string;
  prefix: string;
  created_at: CreatedAt;
  last_used_at: NullableTimestamp;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  /** `read`: GET and HEAD only; `metrics`: GET /metrics only. */
  scope: ColumnType<TokenScope, TokenScope | undefined, never>;
  /** When set, the token reaches this organization's resources and nothing else. */
  organization_id: ColumnType<string | null, string | null | undefined, never>;
}

export type TokenScope = 'read' | 'write' | 'metrics';

export interface LoginAttemptsTable {
  id: Generated<string>;
  email: string;
  ip: string;
  succeeded: boolean;
  at: Timestamp;
}

export type OneTimeTokenPurpose = 'setup' | 'invite' | 'reset';

/** Requests of the public forms, counted for their rate limits. */
export interface PublicAttemptsTable {
  id: Generated<string>;
  kind: 'signup' | 'reset';
  email: string;
  email_domain: string;
  ip: string;
  at: Timestamp;
}

export interface OneTimeTokensTable {
  id: Generated<string>;
  purpose: OneTimeTokenPurpose;
  token_hash: string;
  user_id: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface InvitationsTable {
  id: Generated<string>;
  organization_id: string;
  email: string;
  role: MemberRole;
  token_hash: string;
  invited_by: ColumnType<string | null, string | null | undefined, string | null>;
  invited_by_label: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
  mailed_at: NullableTimestamp;
  mail_error: ColumnType<string | null, string | null | undefined, string | null>;
  accepted_at: NullableTimestamp;
  accepted_by: ColumnType<string | null, string | null | undefined, string | null>;
  revoked_at: NullableTimestamp;
}

export interface AuditEventsTable {
  id: Generated<string>;
  at: Timestamp;
  actor_id: string | null;
  actor_label: string;
  organization_id: string | null;
  action: string;
  category: string;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  details: ColumnType<Record<string, unknown>, string, never>;
  ip: string | null;
}

export type OperationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface OperationStep {
  name: string;
  status: StepStatus;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface OperationError {
  code: string;
  message: string;
  step: string | null;
}

export interface OperationsTable {
  id: Generated<string>;
  kind: string;
  organization_id: string | null;
  host_id: string | null;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  status: OperationStatus;
  progress: ColumnType<number, number | undefined, number>;
  step: string | null;
  steps: ColumnType<OperationStep[], string, string>;
  input: ColumnType<Record<string, unknown>, string, string>;
  result: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  error: ColumnType<OperationError | null, string | null, string | null>;
  /** What the job created so far, so an interrupted job can be undone. */
  resources: ColumnType<Record<string, unknown>, string | undefined, string>;
  /** Set while the job waits to try again (an upload's backoff): until when, and what for. */
  waiting_until: NullableTimestamp;
  waiting_for: ColumnType<string | null, string | null | undefined, string | null>;
  /** The failed or cancelled job this one repeats. */
  retry_of: ColumnType<string | null, string | null | undefined, string | null>;
  actor_id: string | null;
  actor_label: string;
  created_at: CreatedAt;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
}

export interface OperationLogsTable {
  id: Generated<string>;
  operation_id: string;
  at: Timestamp;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface DatabaseServersTable {
  id: Generated<string>;
  name: string;
  kind: 'managed' | 'external';
  host_id: string | null;
  image: string | null;
  container_name: string | null;
  volume_name: string | null;
  network: string | null;
  internal_host: string;
  internal_port: number;
  superuser: string;
  /** Sealed with the SecretBox. */
  superuser_password: string;
  external_url: string | null;
  state: ColumnType<string, string | undefined, string>;
  created_at: CreatedAt;
}

export interface ProjectsTable {
  id: Generated<string>;
  organization_id: string;
  name: string;
  display_name: string;
  odoo_version: string;
  created_at: CreatedAt;
}

export type Stage = 'production' | 'staging' | 'development';
export const stages: readonly Stage[] = ['production', 'staging', 'development'];
export type InstanceStatus =
  | 'provisioning'
  | 'starting'
  | 'running'
  | 'unhealthy'
  | 'restarting'
  | 'stopping'
  | 'stopped'
  | 'exited'
  | 'missing'
  /** Its cluster node is lost (down, or listed by no manager): not reachable until it returns or is recovered. */
  | 'unavailable'
  | 'failed'
  | 'deleting'
  | 'restoring';

/** Generated by Marina, set by a reset, or the users of a copy (a clone, a backup, an imported file). */
export type AdminPasswordSource = 'generated' | 'reset' | 'copied' | 'imported';

export interface InstancesTable extends RestoreUndoColumns {
  id: Generated<string>;
  organization_id: string;
  project_id: string;
  name: string;
  stage: Stage;
  odoo_version: string;
  host_id: string;
  database_server_id: string | null;
  db_name: string;
  /** Sealed secrets: the database role's password, Odoo's master password, the customer's admin password. */
  db_password: string;
  master_password: string;
  admin_login: string;
  admin_password: string;
  /** Where the admin password comes from (see src/modules/instances/admin-password.ts). */
  admin_password_source: ColumnType<AdminPasswordSource, AdminPasswordSource | undefined, AdminPasswordSource>;
  /** The instance or file the users were copied from, for a copy. */
  admin_password_from: ColumnType<string | null, string | null | undefined, string | null>;
  /** When: the copy's snapshot, the backup's time, the import, or the reset. */
  admin_password_at: NullableTimestamp;
  /** Whether Marina knows a password that opens the database (not secret: lists show it). */
  admin_password_known: ColumnType<boolean, boolean | undefined, boolean>;
  language: string;
  country: string | null;
  cpus: number;
  memory_mb: number;
  container_name: string;
  volume_name: string;
  container_id: string | null;
  http_port: number | null;
  status: InstanceStatus;
  status_detail: string | null;
  health: string | null;
  started_at: NullableTimestamp;
  status_changed_at: ColumnType<Date, Date | string | undefined, Date | string>;
  created_at: CreatedAt;
  /** The instance a staging or development copy was cloned from. */
  cloned_from_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Its stable name under the platform's base domain (null when no base domain is configured). */
  hostname: ColumnType<string | null, string | null | undefined, string | null>;
  /** Its address on the edge's loopback range, where the proxy keeps a server for it. */
  edge_ip: ColumnType<string | null, string | null | undefined, string | null>;
  /** Odoo's gevent port (8072) published on loopback, when the instance has workers. */
  gevent_port: ColumnType<number | null, number | null | undefined, number | null>;
  /** The name Odoo's web.base.url follows: the primary custom domain, else `hostname`. */
  primary_hostname: ColumnType<string | null, string | null | undefined, string | null>;
  protection: ColumnType<InstanceProtection | null, InstanceProtection | null | undefined, InstanceProtection | null>;
  /** The sign-up template it was made from (0024): modules, language, country, demo data. */
  template_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export type BackupKind = 'full' | 'database' | 'filestore';
export const backupKinds: readonly BackupKind[] = ['full', 'database', 'filestore'];
export type BackupFormat = 'zip' | 'native';
export const backupFormats: readonly BackupFormat[] = ['zip', 'native'];
export type BackupTrigger = 'manual' | 'schedule' | 'pre-restore' | 'pre-update' | 'pre-delete' | 'import';
export const backupTriggers: readonly BackupTrigger[] = [
  'manual',
  'schedule',
  'pre-restore',
  'pre-update',
  'pre-delete',
  'import',
];
export type BackupStatus = 'pending' | 'running' | 'completed' | 'failed';

export interface BackupsTable {
  id: Generated<string>;
  organization_id: string;
  instance_id: string | null;
  instance_label: string;
  odoo_version: string;
  kind: BackupKind;
  format: BackupFormat;
  trigger: BackupTrigger;
  status: BackupStatus;
  /** Relative to the backups folder: <instance id>/<backup id>.<extension>. */
  file_name: string;
  size_bytes: ColumnType<string | null, number | null | undefined, number | null>;
  sha256: string | null;
  pinned: ColumnType<boolean, boolean | undefined, boolean>;
  error: string | null;
  operation_id: string | null;
  manifest: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  created_by: string;
  created_at: CreatedAt;
  completed_at: NullableTimestamp;
  local_status: ColumnType<LocalCopyStatus, LocalCopyStatus | undefined, LocalCopyStatus>;
  verification: ColumnType<BackupVerification | null, string | null | undefined, string | null>;
  /** Kept until then (a cancelled organization's final backups); null: until someone deletes it. */
  expires_at: NullableTimestamp;
}

export type LocalCopyStatus = 'present' | 'deleted';

/** The outcome of a test restore into a throwaway database. */
export interface BackupVerification {
  status: 'passed' | 'failed';
  checkedAt: string;
  /** Installed modules counted in the restored database. */
  modules: number | null;
  durationMs: number;
  error: string | null;
}

export type DestinationKind = 's3' | 'sftp';
export const destinationKinds: readonly DestinationKind[] = ['s3', 'sftp'];

export interface DestinationsTable {
  id: Generated<string>;
  organization_id: string | null;
  name: string;
  kind: DestinationKind;
  settings: ColumnType<Record<string, unknown>, string, string>;
  secrets: string;
  encrypted: ColumnType<boolean, boolean | undefined, boolean>;
  created_by: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
  /** The last connection test: when, whether it passed, and why not. */
  last_tested_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  last_test_ok: ColumnType<boolean | null, boolean | null | undefined, boolean | null>;
  last_test_error: ColumnType<string | null, string | null | undefined, string | null>;
}

export type CopyStatus = 'pending' | 'uploading' | 'verified' | 'failed' | 'deleted';

export interface BackupCopiesTable {
  id: Generated<string>;
  backup_id: string;
  destination_id: string;
  status: CopyStatus;
  remote_key: string;
  encrypted: ColumnType<boolean, boolean | undefined, boolean>;
  size_bytes: ColumnType<string | null, number | null | undefined, number | null>;
  sha256: string | null;
  attempts: ColumnType<number, number | undefined, number>;
  error: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  verified_at: NullableTimestamp;
}

export interface SchedulesTable {
  instance_id: string;
  enabled: boolean;
  spec: ColumnType<Record<string, unknown>, string, string>;
  kind: BackupKind;
  format: BackupFormat;
  destination_ids: ColumnType<string[], string | undefined, string>;
  retention: ColumnType<Record<string, unknown>, string, string>;
  verify_every_days: number | null;
  next_run_at: NullableTimestamp;
  last_run_at: NullableTimestamp;
  last_operation_id: string | null;
  last_verified_at: NullableTimestamp;
  updated_by: string;
  updated_at: Timestamp;
}

export interface SettingsTable {
  key: string;
  value: ColumnType<Record<string, unknown>, string, string>;
  updated_by: string;
  updated_at: Timestamp;
}

export interface Database
  extends SelfServiceTables,
    OidcTables,
    SignupTables,
    MetricsTables,
    BillingTables,
    TemplateTables {
  domains: DomainsTable;
  instance_mail_servers: InstanceMailServersTable;
  caught_mails: CaughtMailsTable;
  edge_wildcard_certificates: EdgeWildcardCertificatesTable;
  users: UsersTable;
  organizations: OrganizationsTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  public_attempts: PublicAttemptsTable;
  api_tokens: ApiTokensTable;
  login_attempts: LoginAttemptsTable;
  one_time_tokens: OneTimeTokensTable;
  invitations: InvitationsTable;
  audit_events: AuditEventsTable;
  operations: OperationsTable;
  operation_logs: OperationLogsTable;
  hosts: HostsTable;
  database_servers: DatabaseServersTable;
  projects: ProjectsTable;
  instances: InstancesTable;
  backups: BackupsTable;
  destinations: DestinationsTable;
  backup_copies: BackupCopiesTable;
  schedules: SchedulesTable;
  settings: SettingsTable;
  repositories: RepositoriesTable;
  repository_checkouts: RepositoryCheckoutsTable;
  push_hook_deliveries: PushHookDeliveriesTable;
}

export type User = Selectable<UsersTable>;
export type Organization = Selectable<OrganizationsTable>;
export type Session = Selectable<SessionsTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type AuditEvent = Selectable<AuditEventsTable>;
export type Invitation = Selectable<InvitationsTable>;
export type NewAuditEvent = Insertable<AuditEventsTable>;
export type Operation = Selectable<OperationsTable>;
export type Host = Selectable<HostsTable>;
export type DatabaseServer = Selectable<DatabaseServersTable>;
export type Project = Selectable<ProjectsTable>;
export type Instance = Selectable<InstancesTable>;
export type Domain = Selectable<DomainsTable>;
export type Backup = Selectable<BackupsTable>;
export type Destination = Selectable<DestinationsTable>;
export type BackupCopy = Selectable<BackupCopiesTable>;
export type Schedule = Selectable<SchedulesTable>;
export type Repository = Selectable<RepositoriesTable>;
export type RepositoryCheckout = Selectable<RepositoryCheckoutsTable>;
export type { HostRole, HostState, NodeAvailability, NodeState } from './schema-cluster.js';
