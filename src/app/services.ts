import { createAlertsModule } from '../modules/alerts/index.js';
import type { BackupHooks } from '../modules/backups/hooks.js';
import { createBackupRecords, createBackupsModule } from '../modules/backups/index.js';
import { createBillingModule } from '../modules/billing/index.js';
import type { NodeChange } from '../modules/cluster/follower.js';
import { createClusterModule } from '../modules/cluster/index.js';
import { createCodeModule } from '../modules/code/index.js';
import { createDomainsModule } from '../modules/domains/index.js';
import { createEdgeModule, edgeCertificateProbe } from '../modules/edge/index.js';
import { LOCAL_HOST_ID } from '../modules/hosts/hosts.js';
import { createHostsModule } from '../modules/hosts/index.js';
import { createIdentityModule } from '../modules/identity/index.js';
import type { InstanceHooks } from '../modules/instances/hooks.js';
import { createInstancesModule } from '../modules/instances/index.js';
import { ResizeService, resizeHandler } from '../modules/instances/resize.js';
import { createLifecycleModule } from '../modules/lifecycle/index.js';
import { createMailModule } from '../modules/mail/index.js';
import { HttpTraffic } from '../modules/metrics/http-traffic.js';
import { createMetricsModule } from '../modules/metrics/index.js';
import { SeriesStore } from '../modules/metrics/series.js';
import { SeriesReader } from '../modules/metrics/series-read.js';
import { createNoticesModule } from '../modules/notices/index.js';
import { createOffsiteModule, createOffsiteStores } from '../modules/offsite/index.js';
import { createOidcModule } from '../modules/oidc/index.js';
import { createPlansModule } from '../modules/plans/index.js';
import { createProjectsModule } from '../modules/projects/index.js';
import { createSettingsModule } from '../modules/settings/index.js';
import { createCredentialLinksModule } from '../modules/signup/credential-routes.js';
import { createSignupModule } from '../modules/signup/index.js';
import { createTemplatesModule } from '../modules/templates/index.js';
import { createUptimeModule } from '../modules/uptime/index.js';
import { AuditService } from '../platform/audit/service.js';
import { Hooks } from '../platform/hooks.js';
import { JobControl } from '../platform/jobs/control.js';
import { OperationBus, OperationService } from '../platform/jobs/operations.js';
import { JobRunner } from '../platform/jobs/runner.js';
import { NotificationService } from '../platform/notifications.js';
import { jobKinds } from './job-kinds.js';

import type { PlatformServices, ServiceDeps, Services } from './service-types.js';

export type { PlatformServices, ServiceDeps, Services };

/**
 * Builds the modules in the order they depend on each other; a module that must react to one
 * built later (a safety backup before an instance is deleted, the checkouts mounted into an
 * instance) does it through the typed hooks, never by being patched after construction.
 */
export function createServices({
  db,
  clock,
  config,
  logger,
  box,
  connectionString,
  runtime,
  edgeProxyCheckMs,
  oidc,
  alertsAllowHttp,
  billingStandins,
}: ServiceDeps): Services {
  const hooks = new Hooks<InstanceHooks & BackupHooks>();
  const audit = new AuditService({ db, clock });
  const settings = createSettingsModule({ db, clock, audit, box, config });
  // The mails Marina sends people (the outbox): after settings (SMTP), before the modules that send.
  const notices = createNoticesModule({ db, clock, audit, logger, settings: settings.settings });
  const operations = new OperationService({ db, clock, bus: new OperationBus() });
  const jobRunner = new JobRunner({
    db,
    connectionString,
    clock,
    bus: operations.bus,
    logger,
    perHostConcurrency: config.jobs.perHost,
    workers: config.jobs.workers,
    kinds: jobKinds,
  });
  const platform: PlatformServices = {
    audit,
    operations,
    runner: jobRunner,
    notifications: new NotificationService({
      db,
      settings: settings.settings,
      logger,
      templates: notices.mailTemplates,
    }),
    jobControl: new JobControl({ db, audit, operations, runner: jobRunner }),
  };
  const { runner, notifications } = platform;
  const identity = createIdentityModule({
    db,
    clock,
    audit,
    logger,
    config,
    settings: settings.settings,
    templates: notices.mailTemplates,
    notices: notices.notices,
  });
  const hosts = createHostsModule({ db, clock, logger, box, config, runtime });
  // Made before the instances module; a node's events are followed once that module exists.
  let followNode: (hostId: string) => void = () => {};
  let nodeChanged: (change: NodeChange) => void = () => {};
  const cluster = createClusterModule({
    db,
    clock,
    logger,
    box,
    audit,
    hosts: hosts.hosts,
    config: config.cluster,
    onNode: (hostId) => followNode(hostId),
    onChange: (change) => nodeChanged(change),
  });
  const projects = createProjectsModule({ db, audit, organizations: identity.organizations });
  // Before instances: every creating service asks its quotas inside its own transaction.
  const plans = createPlansModule({
    db,
    clock,
    audit,
    logger,
    config,
    hosts: hosts.hosts,
    databaseServers: hosts.databaseServers,
    notices: notices.notices,
    // Billing, built later, pro-rates a plan change inside a paid period.
    subscriptionChanged: [
      async (organizationId, from, to) => {
        await billing.billingCycle.prorate(organizationId, from, to);
      },
    ],
  });
  const instances = createInstancesModule({
    db,
    clock,
    audit,
    operations,
    runner,
    box,
    logger,
    config,
    projects: projects.projects,
    hosts: hosts.hosts,
    databaseServers: hosts.databaseServers,
    hooks,
    quotas: plans.quotas,
  });
  // Requests the proxy serves per instance: the edge's access log fills it, the metrics sampler reads it.
  const traffic = config.edge ? new HttpTraffic() : undefined;
  const { edge } = createEdgeModule({
    db,
    box,
    logger,
    config,
    instances: instances.instances,
    hosts: hosts.hosts,
    proxyCheckMs: edgeProxyCheckMs,
    clock,
    traffic,
  });
  const instanceResize = new ResizeService({
    db,
    audit,
    operations,
    runner,
    instances: instances.instances,
    config,
    edgeSync: (reason) => edge.sync(reason),
  });
  runner.register(resizeHandler(instances.jobDeps));
  const { storage, writer } = createBackupRecords({ db, clock, config });
  const guard = settings.outbound.guard;
  const stores = createOffsiteStores({
    db,
    clock,
    audit,
    box,
    logger,
    config,
    guard,
    storage,
    writer,
    quotas: plans.quotas,
  });
  const backups = createBackupsModule({
    db,
    logger,
    clock,
    audit,
    operations,
    runner,
    notifications,
    config,
    databaseServers: hosts.databaseServers,
    instances,
    offsite: stores,
    storage,
    writer,
    hooks,
  });
  // After instances, backups (the pre-delete backup) and the edge (the suspended page): the one writer of a subscription's status.
  const lifecycle = createLifecycleModule({
    db,
    clock,
    audit,
    logger,
    notices: notices.notices,
    instances: instances.instances,
    edge,
    subscriptions: plans.subscriptions,
    backups: backups.backups,
    publicUrl: config.publicUrl,
  });
  const billing = createBillingModule({
    db,
    clock,
    logger,
    audit,
    box,
    notices: notices.notices,
    lifecycle: lifecycle.lifecycle,
    plans: plans.plans,
    subscriptions: plans.subscriptions,
    publicUrl: config.publicUrl,
    standins: billingStandins,
  });
  // Odoo templates: sign-up offers the public ones, the instance form and the provisioning job apply them.
  const templates = createTemplatesModule({ db, clock, audit });
  // After instances and plans: a verified sign-up makes an organization, its trial and its first instance.
  const signup = createSignupModule({
    db,
    clock,
    audit,
    logger,
    config,
    settings: settings.settings,
    plans: plans.plans,
    subscriptions: plans.subscriptions,
    users: identity.users,
    organizations: identity.organizations,
    auth: identity.auth,
    instances: instances.instances,
    hosts: hosts.hosts,
    templates: templates.templates,
    notices: notices.notices,
    bus: operations.bus,
  });
  // After sign-up: a sign-up through a provider is completed on the provider's way back.
  const oidcModule = createOidcModule({
    db,
    clock,
    audit,
    box,
    logger,
    config,
    guard: settings.outbound.guard,
    auth: identity.auth,
    signups: signup.signups,
    options: oidc,
  });
  const offsite = createOffsiteModule({
    db,
    clock,
    audit,
    logger,
    config,
    operations,
    runner,
    notifications,
    instances: instances.instances,
    backups: backups.backups,
    stores,
    hooks,
  });
  const code = createCodeModule({
    db,
    clock,
    audit,
    box,
    config,
    projects: projects.projects,
    instances: instances.instances,
    guard,
    backupJobDeps: backups.jobDeps,
    hooks,
  });
  const domains = createDomainsModule({
    db,
    clock,
    audit,
    box,
    logger,
    config,
    instances: instances.instances,
    databaseServers: hosts.databaseServers,
    edge: edge.enabled ? edge : undefined,
    probeCertificate: edgeCertificateProbe(config),
    // Odoo's mail domain follows the primary name (mail is made below; called only later).
    primaryChanged: (instanceId) => mail.mailServers.apply(instanceId),
  });
  const mail = createMailModule({
    db,
    clock,
    audit,
    box,
    logger,
    config,
    instances: instances.instances,
    databaseServers: hosts.databaseServers,
    settings: settings.settings,
    guard,
  });
  hooks.on('databaseReady', async (job, instance) => {
    // Mail is not worth failing a new instance or a restore for: say so, and the user sets it again.
    try {
      const applied = await mail.mailServers.apply(instance.id);
      if (applied.written) await job.log('Outgoing mail: set as chosen for the instance.');
    } catch (error) {
      await job.log(`Outgoing mail could not be set: ${(error as Error).message}`, 'warn');
    }
  });
  const credentialLinks = createCredentialLinksModule({
    db,
    clock,
    audit,
    box,
    notices: notices.notices,
    instances: instances.instances,
    publicUrl: config.publicUrl,
  });
  // Storage changes with a restore; a backup is a good moment to look again too (src/modules/plans).
  hooks.on('backupCompleted', (instanceId) => plans.usage.measure(instanceId));
  hooks.on('restoreCompleted', (instanceId) => plans.usage.measure(instanceId));
  hooks.on('backupInterrupted', (instanceId) => plans.usage.removeProbes(instanceId));
  for (const module of [instances, backups, code]) module.registerJobs(runner);
  // Marina's own charts (issue #15): the sampler gives each round to this sink too.
  const seriesStore = new SeriesStore({ db, clock, logger });
  const seriesReader = new SeriesReader({ db, clock, instances: instances.instances });

  // Monitoring: after the hosts (samples) and identity (metrics tokens); the jobs bus times jobs.
  const metrics = createMetricsModule({
    db,
    clock,
    logger,
    config,
    hosts: hosts.hosts,
    databaseServers: hosts.databaseServers,
    tokens: identity.tokens,
    bus: operations.bus,
    // Each round is also stored for Marina's own charts.
    sinks: [seriesStore],
    traffic,
  });

  // Alerts, then uptime: an incident's messages are written with it (the outbox and the webhook outbox).
  const alerts = createAlertsModule({
    db,
    clock,
    logger,
    audit,
    box,
    guard,
    notices: notices.notices,
    publicUrl: config.publicUrl,
    config,
    allowHttp: alertsAllowHttp === true,
  });
  const uptime = createUptimeModule({
    db,
    clock,
    logger,
    config,
    instances: instances.instances,
    notifier: alerts.alertNotifier,
  });

  const { jobDeps: _instanceJobDeps, registerJobs: _instanceJobs, ...instanceServices } = instances;
  const { jobDeps: _backupJobDeps, registerJobs: _backupJobs, ...backupServices } = backups;
  const { copies: _copies, start: _start, stop: _stop, ...offsiteServices } = offsite;
  const { registerJobs: _codeJobs, ...codeServices } = code;
  let started = false;
  return {
    ...platform,
    ...settings,
    ...identity,
    ...hosts,
    ...cluster,
    ...projects,
    ...instanceServices,
    ...backupServices,
    ...offsiteServices,
    ...codeServices,
    ...mail,
    ...notices,
    ...oidcModule,
    ...signup,
    ...templates,
    ...domains,
    ...plans,
    ...lifecycle,
    ...credentialLinks,
    ...metrics,
    ...alerts,
    ...uptime,
    ...billing,
    edge,
    instanceResize,
    seriesStore,
    seriesReader,
    async startBackground() {
      started = true;
      // A mail found mid-send becomes `unknown` (never sent twice); then the sender's timer runs.
      await notices.notices.start();
      // Before the jobs run: a provisioning job writes the catcher's address into Odoo.
      await mail.mailCatcher?.start();
      const local = await hosts.hosts.registerLocal(config.docker.host);
      await runner.start();
      // After interrupted jobs were failed and undone: whatever backup they left unfinished is failed.
      await backups.backups.sweep();
      instances.status.start([LOCAL_HOST_ID]);
      followNode = (hostId) => instances.status.follow(hostId);
      nodeChanged = (change) => {
        // A node back: its database server runs again before what runs there is listed afresh.
        const ready =
          change.to === 'ready'
            ? hosts.databaseServers.restartManaged(change.hostId).catch((error: unknown) => {
                logger.error({ err: error, host: change.hostId }, 'the database server of a node that returned');
              })
            : Promise.resolve();
        void ready.then(() => instances.status.nodeChanged(change.hostId, change.to));
      };
      // Names for older instances, the edge DNS, then the proxy's configuration (retried if Caddy is not up).
      await edge.start();
      // Its first tick catches up, once, on runs missed while Marina was down.
      offsite.start();
      // Pending custom domains are checked again with backoff until verified or given up.
      domains.domainRechecks.start();
      // Storage of every instance, measured on a timer (and after backups and restores).
      plans.usage.start();
      // Every instance's figures for /metrics (and the stored series), every MARINA_METRICS_INTERVAL_S.
      metrics.metricsSampler.start();
      // Webhook messages left queued, then every running production instance checked each MARINA_UPTIME_INTERVAL_S.
      await alerts.alertDeliveries.start();
      uptime.uptimeChecker.start();
      alerts.alertEvaluator.start();
      // Trial reminders and ends, grace ends; its first tick catches up on what came due while down.
      lifecycle.lifecycleTicker.start(config.selfService.lifecycleIntervalMs);
      // Period invoices and dunning on the same interval; Paynow payments polled until they settle.
      billing.billingTicker.start(config.selfService.lifecycleIntervalMs);
      // Hourly rollups and pruning of the series; its first tick catches up on hours missed while down.
      seriesStore.start();
      // Sign-ups: expiry, a first instance never queued, the welcome mail (also on each finished job).
      signup.signupTicker.start(config.selfService.lifecycleIntervalMs);
      // Template databases a platform admin keeps built ahead, then hourly (a new image, one expired).
      instances.warmTemplates.start();
      // What restores kept as their undo is deleted once its time is up (also caught up after downtime).
      backups.restoreUndo.start();
      // The cluster's nodes as Swarm's managers see them (nothing to do without added hosts).
      cluster.nodeFollower.start();
      if (local.state === 'reachable') {
        // Say at start-up what does not add up; removing is an admin's decision.
        const report = await instances.reconcile.report().catch(() => undefined);
        if (report && (report.orphans.length > 0 || report.missing.length > 0)) {
          logger.warn(
            { orphans: report.orphans.map((o) => `${o.kind} ${o.name}`), missing: report.missing.map((m) => m.name) },
            'reconciliation: some Docker objects or databases are unknown to Marina, or known instances lack their container (GET /api/v1/reconcile)',
          );
        }
      }
    },
    async stopBackground() {
      // First: a tick writes mail to the outbox and queues jobs.
      await lifecycle.lifecycleTicker.stop();
      await billing.billingTicker.stop();
      await signup.signupTicker.stop();
      await instances.warmTemplates.stop();
      await instances.bytecode.settled();
      await backups.restoreUndo.stop();
      await cluster.nodeFollower.stop();
      // Also when never started: a send triggered by an enqueue may be running.
      await notices.notices.stop();
      if (!started) return;
      await mail.mailCatcher?.stop();
      await offsite.stop();
      await domains.domainRechecks.stop();
      await plans.usage.stop();
      await metrics.metricsSampler.stop();
      await uptime.uptimeChecker.stop();
      await alerts.alertEvaluator.stop();
      await alerts.alertDeliveries.stop();
      await seriesStore.stop();
      await edge.stop();
      await instances.status.stop();
      await runner.stop();
    },
  };
}
