import type { Migration } from 'kysely';
import * as foundation from './0001_foundation.js';
import * as operations from './0002_operations.js';
import * as instances from './0003_instances.js';
import * as backups from './0004_backups.js';
import * as offsite from './0005_offsite.js';
import * as repositories from './0006_repositories.js';
import * as invitations from './0007_invitations.js';
import * as signinTokens from './0008_signin_tokens.js';
import * as abuseLimits from './0010_abuse_limits.js';
import * as outbound from './0011_outbound.js';
import * as offsiteTruth from './0012_offsite_truth.js';
import * as jobControl from './0013_job_control.js';
import * as credentials from './0014_credentials.js';
import * as auditVocabulary from './0015_audit_vocabulary.js';
import * as edge from './0016_edge.js';
import * as mail from './0017_mail.js';
import * as edgeWildcard from './0018_edge_wildcard.js';
import * as roles from './0019_roles.js';
import * as plans from './0020_plans.js';
import * as lifecycle from './0021_lifecycle.js';
import * as notices from './0022_notices.js';
import * as oidc from './0023_oidc.js';
import * as signup from './0024_signup.js';
import * as releasedNames from './0025_released_names.js';
import * as metricSeries from './0026_metric_series.js';
import * as metricsTokenScope from './0027_metrics_token_scope.js';
import * as uptimeAlerts from './0028_uptime_alerts.js';
import * as billing from './0029_billing.js';
import * as databaseTemplates from './0030_database_templates.js';
import * as listIndexes from './0031_list_indexes.js';
import * as restoreUndo from './0032_restore_undo.js';
import * as cluster from './0033_cluster.js';
import * as bytecodeCaches from './0034_bytecode_caches.js';

/** Every migration, in order. Names are permanent: they are recorded in Marina's database. */
export const migrations: Record<string, Migration> = {
  '0001_foundation': foundation,
  '0002_operations': operations,
  '0003_instances': instances,
  '0004_backups': backups,
  '0005_offsite': offsite,
  '0006_repositories': repositories,
  '0007_invitations': invitations,
  '0008_signin_tokens': signinTokens,
  '0010_abuse_limits': abuseLimits,
  '0011_outbound': outbound,
  '0012_offsite_truth': offsiteTruth,
  '0013_job_control': jobControl,
  '0014_credentials': credentials,
  '0015_audit_vocabulary': auditVocabulary,
  '0016_edge': edge,
  '0017_mail': mail,
  '0018_edge_wildcard': edgeWildcard,
  '0019_roles': roles,
  '0020_plans': plans,
  '0021_lifecycle': lifecycle,
  '0022_notices': notices,
  '0023_oidc': oidc,
  '0024_signup': signup,
  '0025_released_names': releasedNames,
  '0026_metric_series': metricSeries,
  '0027_metrics_token_scope': metricsTokenScope,
  '0028_uptime_alerts': uptimeAlerts,
  '0029_billing': billing,
  '0030_database_templates': databaseTemplates,
  '0031_list_indexes': listIndexes,
  '0032_restore_undo': restoreUndo,
  '0033_cluster': cluster,
  '0034_bytecode_caches': bytecodeCaches,
};
