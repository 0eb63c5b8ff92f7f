import { type Command, Option } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { Body } from './api/types.js';
import { CliError, exitCodes } from './errors.js';
import { ago, printJson, table } from './output.js';
import { jsonOption } from './secret-options.js';

type NewMember = Body<'/api/v1/organizations/{id}/members', 'post'>;

/** Organizations, their members, API tokens and the audit trail: `marina orgs …`, `tokens …`, `audit`. */
export function registerAccountCommands(program: Command, client: () => Promise<MarinaClient>): void {
  const orgs = program.command('orgs').description('organizations');
  orgs
    .command('ls')
    .description('list organizations')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }) => {
      const c = await client();
      const { organizations } = await c.call(c.api.GET('/api/v1/organizations'));
      if (opts.json) return printJson(organizations);
      console.log(
        table(
          organizations.map((o) => ({ ...o, members: o.memberCount })),
          ['slug', 'name', 'role', 'members', 'id'],
        ),
      );
    });
  orgs
    .command('create <slug>')
    .description('create an organization (platform admins)')
    .requiredOption('--name <name>', 'its display name')
    .addOption(jsonOption())
    .action(async (slug: string, opts: { name: string; json?: boolean }) => {
      const c = await client();
      const { organization } = await c.call(c.api.POST('/api/v1/organizations', { body: { slug, name: opts.name } }));
      if (opts.json) return printJson(organization);
      console.log(`Created organization ${organization.slug} (${organization.id}).`);
    });
  orgs
    .command('members <org>')
    .description('list the members of an organization (id or slug)')
    .addOption(jsonOption())
    .action(async (org: string, opts: { json?: boolean }) => {
      const c = await client();
      const { members } = await c.call(
        c.api.GET('/api/v1/organizations/{id}/members', { params: { path: { id: org } } }),
      );
      if (opts.json) return printJson(members);
      console.log(
        table(
          members.map((m) => ({ ...m, status: m.disabled ? 'disabled' : 'active' })),
          ['email', 'name', 'role', 'status', 'userId'],
        ),
      );
    });
  orgs
    .command('add-member <org> <email>')
    .description('invite someone: the link is mailed to them; they join when they accept')
    .addOption(
      new Option('--role <role>', 'their role (member: the old name of viewer)')
        .choices(['owner', 'admin', 'developer', 'viewer', 'member'])
        .default('viewer'),
    )
    .addOption(jsonOption())
    .action(async (org: string, email: string, opts: { role: NewMember['role']; json?: boolean }) => {
      const c = await client();
      const result = await c.call(
        c.api.POST('/api/v1/organizations/{id}/members', {
          params: { path: { id: org } },
          body: { email, role: opts.role },
        }),
      );
      if (opts.json) return printJson(result);
      const { invitation } = result;
      console.log(`Invited ${invitation.email} as ${invitation.role}; they join when they accept.`);
      if (!invitation.mailed)
        console.log(
          `The invitation email could not be sent: a platform admin can run \`marina orgs invite-link ${invitation.id}\`.`,
        );
    });
  orgs
    .command('invite-link <invitationId>')
    .description('issue a fresh link for a pending invitation, when no email could be sent (platform admins)')
    .addOption(jsonOption())
    .action(async (invitationId: string, opts: { json?: boolean }) => {
      const c = await client();
      const result = await c.call(
        c.api.POST('/api/v1/invitations/{id}/link', { params: { path: { id: invitationId } } }),
      );
      if (opts.json) return printJson(result);
      console.log(`Give this one-time link to the invitee only (valid until ${result.expiresAt}):\n  ${result.url}`);
    });

  const tokens = program.command('tokens').description('API tokens');
  tokens
    .command('create <name>')
    .description('create an API token; the secret is printed once')
    .option('--expires-in-days <days>', 'expire after this many days')
    .option('--expires-at <time>', 'expire at this date and time (ISO 8601, e.g. 2027-01-31T18:00:00Z)')
    .option('--read-only', 'the token can only read (GET), never change anything')
    .option('--metrics', 'the token can only be scraped with: GET /metrics (Prometheus), nothing else')
    .option('--org <organization>', 'limit the token to this organization (one you are a member of)')
    .addOption(jsonOption())
    .action(
      async (
        name: string,
        opts: {
          expiresInDays?: string;
          expiresAt?: string;
          readOnly?: boolean;
          metrics?: boolean;
          org?: string;
          json?: boolean;
        },
      ) => {
        if (opts.readOnly && opts.metrics)
          throw new CliError('Give --read-only or --metrics, not both.', exitCodes.usage);
        let expiresInDays: number | undefined;
        if (opts.expiresInDays !== undefined) {
          expiresInDays = Number(opts.expiresInDays);
          if (!/^\d+$/.test(opts.expiresInDays) || expiresInDays < 1 || expiresInDays > 3650) {
            throw new CliError('--expires-in-days: give a whole number of days from 1 to 3650.', exitCodes.usage);
          }
        }
        let expiresAt: string | undefined;
        if (opts.expiresAt !== undefined) {
          const at = new Date(opts.expiresAt);
          if (Number.isNaN(at.getTime())) {
            throw new CliError('--expires-at: give a date and time such as 2027-01-31T18:00:00Z.', exitCodes.usage);
          }
          expiresAt = at.toISOString();
        }
        const c = await client();
        const organizationId = opts.org
          ? (await c.call(c.api.GET('/api/v1/organizations/{id}', { params: { path: { id: opts.org } } }))).organization
              .id
          : undefined;
        const result = await c.call(
          c.api.POST('/api/v1/tokens', {
            body: {
              name,
              expiresInDays,
              expiresAt,
              scope: opts.metrics ? 'metrics' : opts.readOnly ? 'read' : 'write',
              organizationId,
            },
          }),
        );
        if (opts.json) return printJson(result);
        console.log(
          `Created token "${result.token.name}" (${result.token.id}). Copy it now; it is not shown again:\n${result.secret}`,
        );
      },
    );
  tokens
    .command('ls')
    .description('list your API tokens')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }) => {
      const c = await client();
      const { tokens: rows } = await c.call(c.api.GET('/api/v1/tokens'));
      if (opts.json) return printJson(rows);
      console.log(
        table(
          rows.map(({ organization, ...t }) => ({
            ...t,
            prefix: `${t.prefix}…`,
            used: ago(t.lastUsedAt),
            state: t.revokedAt ? 'revoked' : t.expiresAt && new Date(t.expiresAt) < new Date() ? 'expired' : 'active',
            reach: `${organization ? organization.slug : 'all'}${t.scope === 'write' ? '' : t.scope === 'read' ? ' (read-only)' : ' (metrics)'}`,
            expires: t.expiresAt ? t.expiresAt.slice(0, 16).replace('T', ' ') : 'never',
          })),
          ['name', 'prefix', 'reach', 'state', 'expires', 'used', 'id'],
        ),
      );
    });
  tokens
    .command('revoke <id>')
    .description('revoke an API token')
    .action(async (id: string) => {
      const c = await client();
      const { token } = await c.call(c.api.DELETE('/api/v1/tokens/{id}', { params: { path: { id } } }));
      console.log(`Revoked token "${token.name}".`);
    });
}

/** The audit trail: `marina audit`. */
export function registerAuditCommand(program: Command, client: () => Promise<MarinaClient>): void {
  program
    .command('audit')
    .description('the audit trail, newest first')
    .option('--category <category>', 'e.g. auth, organization, member, token, user')
    .option('--actor <actor>', 'an email address or user id')
    .option('--target <target>', 'a target id or name')
    .option('--limit <n>', 'how many events', '50')
    .addOption(jsonOption())
    .action(async (opts: { category?: string; actor?: string; target?: string; limit: string; json?: boolean }) => {
      const c = await client();
      const { events } = await c.call(
        c.api.GET('/api/v1/audit', {
          params: {
            query: { category: opts.category, actor: opts.actor, target: opts.target, limit: Number(opts.limit) },
          },
        }),
      );
      if (opts.json) return printJson(events);
      console.log(
        table(
          events.map((e) => ({
            time: e.at.replace('T', ' ').slice(0, 19),
            action: e.action,
            actor: e.actor.label,
            target: e.target?.label ?? e.target?.id,
            ip: e.ip,
          })),
          ['time', 'action', 'actor', 'target', 'ip'],
        ),
      );
    });
}
