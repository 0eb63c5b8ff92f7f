import type { paths } from '../../../src/api/schema';

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;

export type Organization = Json<paths['/api/v1/organizations']['get']['responses'][200]>['organizations'][number];
export type Member = Json<paths['/api/v1/organizations/{id}/members']['get']['responses'][200]>['members'][number];
export type ApiToken = Json<paths['/api/v1/tokens']['get']['responses'][200]>['tokens'][number];
export type AuditEvent = Json<paths['/api/v1/audit']['get']['responses'][200]>['events'][number];
export type AuditQuery = NonNullable<paths['/api/v1/audit']['get']['parameters']['query']>;
export type Role = Member['role'];
export const roles: Role[] = ['owner', 'admin', 'developer', 'viewer'];

export type Instance = Json<paths['/api/v1/instances']['get']['responses'][200]>['instances'][number];
export type Project = Json<paths['/api/v1/projects']['get']['responses'][200]>['projects'][number];
export type Host = Json<paths['/api/v1/hosts']['get']['responses'][200]>['hosts'][number];
export type Job = Json<paths['/api/v1/jobs']['get']['responses'][200]>['jobs'][number];
export type JobLogLine = Json<paths['/api/v1/jobs/{id}']['get']['responses'][200]>['logs'][number];
export type JobStatus = Job['status'];
export type InstanceStats = Json<paths['/api/v1/instances/{id}/stats']['get']['responses'][200]>['stats'];
export type Credentials = Json<paths['/api/v1/instances']['post']['responses'][202]>['credentials'];
export type RevealedCredentials = Json<
  paths['/api/v1/instances/{id}/credentials']['post']['responses'][200]
>['credentials'];
export type Stage = Instance['stage'];
export const stages: Stage[] = ['production', 'staging', 'development'];

type InstanceLogs = paths['/api/v1/instances/{id}/logs']['get'];
export type LogEntry = Json<InstanceLogs['responses'][200]>['entries'][number];
export type LogQuery = NonNullable<InstanceLogs['parameters']['query']>;

export type Backup = Json<paths['/api/v1/backups']['get']['responses'][200]>['backups'][number];
export type BackupKind = Backup['kind'];
export type BackupFormat = Backup['format'];
export type BackupTrigger = Backup['trigger'];
export type BackupStatus = Backup['status'];
export type BackupQuery = NonNullable<paths['/api/v1/backups']['get']['parameters']['query']>;
export type DatabaseInfo = Json<paths['/api/v1/instances/{id}/database']['get']['responses'][200]>['database'];
export type FillTarget = NonNullable<
  paths['/api/v1/backups/{id}/restore']['post']['requestBody']
>['content']['application/json'];
export type NewInstanceTarget = NonNullable<FillTarget['newInstance']>;
export const backupKinds: BackupKind[] = ['full', 'database', 'filestore'];
export const backupFormats: BackupFormat[] = ['zip', 'native'];
export const backupTriggers: BackupTrigger[] = [
  'manual',
  'schedule',
  'pre-restore',
  'pre-update',
  'pre-delete',
  'import',
];
export const backupStatuses: BackupStatus[] = ['pending', 'running', 'completed', 'failed'];

export type BackupCopy = Backup['copies'][number];
export type BackupVerification = NonNullable<Backup['verification']>;
export type CopyStatus = BackupCopy['status'];

export type Destination = Json<paths['/api/v1/destinations']['get']['responses'][200]>['destinations'][number];
export type NewDestination = NonNullable<
  paths['/api/v1/destinations']['post']['requestBody']
>['content']['application/json'];
export type DestinationChanges = NonNullable<
  paths['/api/v1/destinations/{id}']['patch']['requestBody']
>['content']['application/json'];
export type DestinationTest = Json<paths['/api/v1/destinations/{id}/test']['post']['responses'][200]>;

export type Schedule = NonNullable<Json<paths['/api/v1/instances/{id}/schedule']['get']['responses'][200]>['schedule']>;
export type ScheduleSpec = Schedule['spec'];
export type ScheduleInput = NonNullable<
  paths['/api/v1/instances/{id}/schedule']['put']['requestBody']
>['content']['application/json'];
export type RetentionPolicy = Schedule['retention']['local'];
export type RetentionPreview = Json<paths['/api/v1/retention/preview']['post']['responses'][200]>;

export type BackupRun = Json<paths['/api/v1/backup-runs']['get']['responses'][200]>['runs'][number];
export type BackupRunQuery = NonNullable<paths['/api/v1/backup-runs']['get']['parameters']['query']>;

export type Repository = Json<paths['/api/v1/repositories/{id}']['get']['responses'][200]>['repository'];
export type Checkout = Repository['checkouts'][number];
export type GitStatus = NonNullable<Checkout['git']>;
export type Commit = GitStatus['head'];
export type NewRepository = NonNullable<
  paths['/api/v1/projects/{id}/repositories']['post']['requestBody']
>['content']['application/json'];
export type RepositoryChange = NonNullable<
  paths['/api/v1/repositories/{id}']['patch']['requestBody']
>['content']['application/json'];

export type OdooModule = Json<paths['/api/v1/instances/{id}/modules']['get']['responses'][200]>['modules'][number];
export type ModuleChange = NonNullable<
  paths['/api/v1/instances/{id}/modules']['post']['requestBody']
>['content']['application/json'];
export type ModulePlan = Json<paths['/api/v1/instances/{id}/modules']['post']['responses'][200]>['plan'];
export type DatabaseTemplate = Json<paths['/api/v1/database-templates']['get']['responses'][200]>['templates'][number];
export type WarmTemplateSettings = Json<paths['/api/v1/database-templates/warm']['get']['responses'][200]>;
export type GitSettings = Json<paths['/api/v1/settings/git']['get']['responses'][200]>['git'];
