import { randomBytes } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Static } from 'typebox';
import type { OutboundGuard } from '../../adapters/net/outbound.js';
import type { Db } from '../../db/database.js';
import type { Instance, InstanceMailServersTable, MailMode } from '../../db/schema.js';
import type { AuditService } from '../../platform/audit/service.js';
import { instanceTarget } from '../../platform/audit/targets.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { InstanceService } from '../instances/service.js';
import { requireOutbound } from '../settings/outbound-settings.js';
import type { SettingsService } from '../settings/service.js';
import type { MailCatcher } from './catcher.js';
import { type OdooMailServer, writeOdooMail } from './odoo-mail.js';
import type { MailServer, MailServerInput } from './schemas.js';

export type MailServerView = Static<typeof MailServer>;
type Row = Selectable<InstanceMailServersTable>;

export interface MailServerServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  instances: InstanceService;
  databaseServers: DatabaseServerService;
  settings: SettingsService;
  guard: OutboundGuard;
  /** The running catcher; undefined when MARINA_MAIL_CATCHER_PORT is not set. */
  catcher: MailCatcher | undefined;
  /** Whether instances have host names (the edge is on): their mail addresses then follow them. */
  edge: boolean;
}

/** Statuses in which the instance's database is being made or replaced: its job applies the setting. */
const BUSY: readonly Instance['status'][] = ['provisioning', 'restoring', 'deleting', 'failed'];

/**
 * How each instance's Odoo sends mail: the platform's relay, the organization's own server, or
 * (staging and development) Marina's mail catcher — the default there. Marina writes the choice
 * into the instance's Odoo as its one active outgoing server.
 */
export class MailServerService {
  constructor(private readonly deps: MailServerServiceDeps) {}

  private async row(instanceId: string): Promise<Row | undefined> {
    return this.deps.db.selectFrom('instance_mail_servers').selectAll().where('id', '=', instanceId).executeTakeFirst();
  }

  private catcherAllowed(instance: Pick<Instance, 'stage'>): boolean {
    return instance.stage !== 'production' && this.deps.catcher !== undefined;
  }

  /** No choice made: staging and development catch their mail when the catcher runs. */
  private defaultMode(instance: Instance): MailMode {
    return this.catcherAllowed(instance) ? 'catcher' : 'platform';
  }

  private async view(instance: Instance, row: Row | undefined): Promise<MailServerView> {
    const platform = await this.deps.settings.getSmtpForSending();
    return {
      mode: row?.mode ?? this.defaultMode(instance),
      configured: row !== undefined,
      own:
        row?.own_host && row.own_port
          ? {
              host: row.own_host,
              port: row.own_port,
              security: (row.own_security ?? 'starttls') as 'starttls' | 'tls' | 'none',
              username: row.own_username ?? '',
              passwordSet: row.own_password !== null,
            }
          : null,
      catcherAvailable: this.catcherAllowed(instance),
      platformConfigured: platform !== null,
    };
  }

  async get(actor: Actor, instanceId: string): Promise<MailServerView> {
    const instance = await this.deps.instances.get(actor, instanceId);
    return this.view(instance, await this.row(instance.id));
  }

  async set(ctx: RequestContext, instanceId: string, input: Static<typeof MailServerInput>): Promise<MailServerView> {
    const instance = await this.deps.instances.get(ctx.actor, instanceId);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'instance.operate');
    const current = await this.row(instance.id);
    const changes: Partial<Omit<Row, 'id' | 'organization_id' | 'updated_at'>> = { mode: input.mode };
    if (input.mode === 'catcher') {
      if (instance.stage === 'production')
        throw new MarinaError(
          'MARINA_E_MAIL_CATCHER_PRODUCTION',
          'A production instance cannot send its mail to the mail catcher: choose the platform’s server or your own.',
        );
      if (!this.deps.catcher) throw new MarinaError('MARINA_E_MAIL_CATCHER_OFF');
    }
    if (input.mode === 'platform' && !(await this.deps.settings.getSmtpForSending()))
      throw new MarinaError(
        'MARINA_E_SMTP_NOT_CONFIGURED',
        'The platform has no SMTP server set: a platform admin sets one in the settings, or use your own server.',
      );
    if (input.mode === 'own') {
      const own = input.own;
      if (!own)
        throw new MarinaError('MARINA_E_VALIDATION', 'Give your SMTP server: host, port, security and username.', {
          issues: [{ path: '/own', message: 'required when mode is "own"' }],
        });
      const host = own.host.trim().toLowerCase();
      if (!/^[a-z0-9.:[\]-]+$/.test(host))
        throw new MarinaError(
          'MARINA_E_VALIDATION',
          'host must be a host name such as smtp.example.com, or an IP address.',
          {
            issues: [{ path: '/own/host', message: 'not a host name' }],
          },
        );
      // The same rule as every address a tenant gives Marina: nothing internal unless allowed.
      await requireOutbound(this.deps.guard, host, own.port);
      const password =
        own.password !== undefined
          ? own.password === ''
            ? null
            : this.deps.box.seal(own.password, sealedAt('instance_mail_servers', 'own_password', instance.id))
          : (current?.own_password ?? null);
      Object.assign(changes, {
        own_host: host,
        own_port: own.port,
        own_security: own.security,
        own_username: own.username.trim() === '' ? null : own.username.trim(),
        own_password: password,
      });
    }
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('instance_mail_servers')
        .values({
          id: instance.id,
          organization_id: instance.organization_id,
          mode: input.mode,
          updated_at: this.deps.clock.now(),
          ...changes,
        })
        .onConflict((oc) => oc.column('id').doUpdateSet({ ...changes, updated_at: this.deps.clock.now() }))
        .execute();
      await this.deps.audit.record(
        ctx,
        {
          action: 'instance.set_mail_server',
          organizationId: instance.organization_id,
          target: await instanceTarget(trx, instance),
          details: {
            mode: input.mode,
            ...(input.mode === 'own' ? { host: changes.own_host, port: input.own?.port } : {}),
          },
        },
        trx,
      );
    });
    // A running or stopped instance gets it now; one whose database is being made gets it from its job.
    if (!BUSY.includes(instance.status) && instance.database_server_id) await this.apply(instance);
    return this.view(instance, await this.row(instance.id));
  }

  /** The instance's login on the catcher, made once. */
  private async catcherLogin(instance: Instance): Promise<{ user: string; password: string }> {
    const row = await this.row(instance.id);
    if (row?.catcher_username && row.catcher_password)
      return {
        user: row.catcher_username,
        password: this.deps.box.open(
          row.catcher_password,
          sealedAt('instance_mail_servers', 'catcher_password', instance.id),
        ),
      };
    const user = `instance-${instance.id.replace(/-/g, '')}`;
    const password = randomBytes(24).toString('base64url');
    const sealed = this.deps.box.seal(password, sealedAt('instance_mail_servers', 'catcher_password', instance.id));
    await this.deps.db
      .insertInto('instance_mail_servers')
      .values({
        id: instance.id,
        organization_id: instance.organization_id,
        mode: row?.mode ?? 'catcher',
        catcher_username: user,
        catcher_password: sealed,
        updated_at: this.deps.clock.now(),
      })
      .onConflict((oc) => oc.column('id').doUpdateSet({ catcher_username: user, catcher_password: sealed }))
      .execute();
    return { user, password };
  }

  /** Only for tests and the catcher's own checks: the catcher credentials of an instance. */
  async catcherCredentials(instanceId: string): Promise<{ user: string; password: string }> {
    return this.catcherLogin(await this.deps.instances.row(instanceId));
  }

  /** The server Odoo should use now; null: leave Odoo's own servers alone (nothing chosen). */
  private async desiredServer(instance: Instance): Promise<OdooMailServer | null> {
    const row = await this.row(instance.id);
    const mode = row?.mode ?? (this.catcherAllowed(instance) ? 'catcher' : null);
    if (mode === 'catcher') {
      if (!this.catcherAllowed(instance) || !this.deps.catcher) return null;
      const login = await this.catcherLogin(instance);
      const endpoint = this.deps.catcher.instanceEndpoint();
      return {
        host: endpoint.host,
        port: endpoint.port,
        encryption: 'none',
        user: login.user,
        password: login.password,
      };
    }
    if (mode === 'own' && row?.own_host && row.own_port) {
      return {
        host: row.own_host,
        port: row.own_port,
        encryption: row.own_security === 'tls' ? 'ssl' : row.own_security === 'none' ? 'none' : 'starttls',
        user: row.own_username,
        password: row.own_password
          ? this.deps.box.open(row.own_password, sealedAt('instance_mail_servers', 'own_password', instance.id))
          : null,
      };
    }
    if (mode === 'platform') {
      const smtp = await this.deps.settings.getSmtpForSending();
      if (!smtp) return null;
      return {
        host: smtp.host,
        port: smtp.port,
        encryption: smtp.security === 'tls' ? 'ssl' : smtp.security,
        user: smtp.username,
        password: smtp.password,
      };
    }
    return null;
  }

  /**
   * Writes the instance's mail setting into its Odoo (as its own role): the one active outgoing
   * server named "Marina", and its mail domain when the instance has a host name. Called on a
   * change, after provisioning, and after a restore or clone (a neutralized staging copy then
   * sends to the catcher). Does nothing when there is nothing to write.
   */
  async apply(instanceOrId: Instance | string): Promise<{ written: boolean; deactivated: number }> {
    const instance = typeof instanceOrId === 'string' ? await this.deps.instances.row(instanceOrId) : instanceOrId;
    const server = await this.desiredServer(instance);
    const hostname = this.deps.edge ? (instance.primary_hostname ?? instance.hostname) : null;
    if (!server && !hostname) return { written: false, deactivated: 0 };
    const connection = await this.deps.databaseServers.forInstance(instance);
    const { deactivated } = await writeOdooMail(connection, instance.db_name, { server, hostname });
    return { written: true, deactivated };
  }
}
