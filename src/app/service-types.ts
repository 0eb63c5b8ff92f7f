import type { Logger } from 'pino';
import type { MarinaConfig } from '../config.js';
import type { Db } from '../db/database.js';
import type { AlertsModule } from '../modules/alerts/index.js';
import type { BackupsModule } from '../modules/backups/index.js';
import type { BillingModule, BillingStandins } from '../modules/billing/index.js';
import type { ClusterModule } from '../modules/cluster/index.js';
import type { CodeModule } from '../modules/code/index.js';
import type { DomainsModule } from '../modules/domains/index.js';
import type { EdgeService } from '../modules/edge/index.js';
import type { HostsModule } from '../modules/hosts/index.js';
import type { IdentityModule } from '../modules/identity/index.js';
import type { InstancesModule } from '../modules/instances/index.js';
import type { ResizeService } from '../modules/instances/resize.js';
import type { LifecycleModule } from '../modules/lifecycle/index.js';
import type { MailModule } from '../modules/mail/index.js';
import type { MetricsModule } from '../modules/metrics/index.js';
import type { SeriesStore } from '../modules/metrics/series.js';
import type { SeriesReader } from '../modules/metrics/series-read.js';
import type { NoticesModule } from '../modules/notices/index.js';
import type { OffsiteModule } from '../modules/offsite/index.js';
import type { OidcDiscoveryOptions, OidcModule } from '../modules/oidc/index.js';
import type { PlansModule } from '../modules/plans/index.js';
import type { ProjectsModule } from '../modules/projects/index.js';
import type { SettingsModule } from '../modules/settings/index.js';
import type { CredentialLinksModule } from '../modules/signup/credential-routes.js';
import type { SignupModule } from '../modules/signup/index.js';
import type { TemplatesModule } from '../modules/templates/index.js';
import type { UptimeModule } from '../modules/uptime/index.js';
import type { AuditService } from '../platform/audit/service.js';
import type { Clock } from '../platform/clock.js';
import type { JobControl } from '../platform/jobs/control.js';
import type { OperationService } from '../platform/jobs/operations.js';
import type { JobRunner } from '../platform/jobs/runner.js';
import type { NotificationService } from '../platform/notifications.js';
import type { SecretBox } from '../platform/secrets/secret-box.js';
import type { RuntimeFactory } from '../runtime/port.js';

export interface ServiceDeps {
  db: Db;
  clock: Clock;
  config: MarinaConfig;
  logger: Logger;
  box: SecretBox;
  /** Marina's own database, for the job queue's connections. */
  connectionString: string;
  /** How hosts' runtimes are reached (Docker by default; the in-memory stand-in in fast tests). */
  runtime?: RuntimeFactory;
  /** How often the edge checks that the proxy still has its configuration (default once a minute). */
  edgeProxyCheckMs?: number;
  /** External sign-in: only createTestApp passes this (plain-http issuers on loopback). */
  oidc?: OidcDiscoveryOptions;
  /** Plain-http alert webhooks: only createTestApp passes this (loopback receivers). */
  alertsAllowHttp?: true;
  /** Payment providers on loopback stand-ins (plain http): only createTestApp passes this. */
  billingStandins?: BillingStandins;
}

/** What every module uses: the audit trail, the jobs and their runner, notifications. */
export interface PlatformServices {
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
  notifications: NotificationService;
  /** Cancel and retry of jobs, by users. */
  jobControl: JobControl;
}

/** Every module's services, by name: what the routes, the event streams and the tests reach. */
export interface Services
  extends PlatformServices,
    SettingsModule,
    IdentityModule,
    HostsModule,
    ClusterModule,
    ProjectsModule,
    MailModule,
    NoticesModule,
    PlansModule,
    LifecycleModule,
    OidcModule,
    SignupModule,
    TemplatesModule,
    CredentialLinksModule,
    MetricsModule,
    AlertsModule,
    UptimeModule,
    BillingModule,
    Omit<InstancesModule, 'jobDeps' | 'registerJobs'>,
    Omit<BackupsModule, 'jobDeps' | 'registerJobs'>,
    Omit<OffsiteModule, 'copies' | 'start' | 'stop'>,
    Omit<CodeModule, 'registerJobs'>,
    DomainsModule {
  /** The reverse proxy, TLS and names (off without MARINA_BASE_DOMAIN). */
  edge: EdgeService;
  /** An instance's size changed (CPUs, memory) within its plan. */
  instanceResize: ResizeService;
  /** Marina's own time series: a sink of the sampler's rounds; rolls up and prunes on its ticker. */
  seriesStore: SeriesStore;
  /** The charts' data (GET /instances/:id/series, /organizations/:id/storage-series). */
  seriesReader: SeriesReader;
  /** Registers the local engine, starts the job workers and follows Docker's events. */
  startBackground(): Promise<void>;
  stopBackground(): Promise<void>;
}
