import { type Kysely, sql } from 'kysely';

/**
 * Old audit actions under the one vocabulary (`src/platform/audit/vocabulary.ts`):
 * `<target-type>.<verb>`, the category being the target type. Kept here as written then, so this
 * migration means the same whatever the vocabulary becomes.
 */
const renamed: Record<string, string> = {
  'auth.login': 'session.login',
  'auth.logout': 'session.logout',
  'auth.login_failed': 'user.login_failed',
  'auth.login_refused': 'user.login_refused',
  'user.password_change': 'user.change_password',
  'organization.file-repositories': 'organization.set_file_repositories',
  'instance.credentials_reveal': 'instance.reveal_credentials',
  'instance.modules': 'instance.update_modules',
  'addons.reconfigure': 'instance.reconfigure_addons',
  'reconcile.adopt': 'instance.adopt',
  'schedule.update': 'instance.update_schedule',
  'backup.download.mismatch': 'backup.download_mismatch',
  'backup.retry-copy': 'backup.retry_copy',
  'destination.pin-host-key': 'destination.pin_host_key',
  'settings.smtp.update': 'settings.update',
  'settings.smtp.clear': 'settings.clear',
  'settings.smtp.test': 'settings.test',
  'settings.git.update': 'settings.update',
  'settings.imports.update': 'settings.update',
  'settings.outbound.update': 'settings.update',
  'secrets.reseal': 'platform.reseal_secrets',
};

export async function up(db: Kysely<unknown>): Promise<void> {
  // The trail is append-only; this one rewrite of names (never of who, when or what) is the exception.
  await sql`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change`.execute(db);
  for (const [from, to] of Object.entries(renamed)) {
    await sql`UPDATE audit_events SET action = ${to} WHERE action = ${from}`.execute(db);
  }
  // Names that depended on the target: a job on an instance, or a restore, clone or import.
  await sql`UPDATE audit_events SET action = 'instance.update_code'
    WHERE action = 'repository.update' AND target_type = 'instance'`.execute(db);
  await sql`UPDATE audit_events SET action = 'instance.apply_retention'
    WHERE action = 'retention.run' AND target_type = 'instance'`.execute(db);
  await sql`UPDATE audit_events SET action = 'platform.apply_retention', target_type = 'platform',
      target_id = 'retention', target_label = 'all instances'
    WHERE action = 'retention.run'`.execute(db);
  await sql`UPDATE audit_events SET action = 'platform.remove_orphan', target_type = 'platform',
      target_label = target_type || ' ' || target_id,
      details = details || jsonb_build_object('kind', target_type)
    WHERE action = 'reconcile.remove'`.execute(db);
  await sql`UPDATE audit_events SET action = CASE WHEN details ? 'import' THEN 'instance.import' ELSE 'instance.restore' END
    WHERE action = 'backup.restore'`.execute(db);
  await sql`UPDATE audit_events SET action = CASE details->>'how'
      WHEN 'instance.clone' THEN 'instance.clone' ELSE 'instance.restore' END
    WHERE action = 'instance.create' AND details ? 'how'`.execute(db);
  // One target type per kind of thing.
  await sql`UPDATE audit_events SET target_type = 'member' WHERE action LIKE 'member.%' AND target_type = 'user'`.execute(
    db,
  );
  await sql`UPDATE audit_events SET target_type = 'token' WHERE target_type = 'api_token'`.execute(db);
  await sql`UPDATE audit_events SET category = split_part(action, '.', 1) WHERE category <> split_part(action, '.', 1)`.execute(
    db,
  );
  await sql`ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change`.execute(db);
}
