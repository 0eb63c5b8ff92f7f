import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { MemberRole, Organization } from '../../db/schema.js';
import { memberOrganizations, requireAccess, requirePlatformAdmin, roleAtLeast } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext, UserActor } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { requirePermission } from '../../platform/permissions.js';
import { isUuid, limits, patterns, requireLabel, requireRole, requireSlug } from '../../platform/validation.js';
import { myOrganizations } from './me.js';
import type { Member, Organization as OrganizationSchema } from './schemas.js';

/** An organization with the caller's role (the `Organization` schema). */
export type OrganizationView = Static<typeof OrganizationSchema>;

/** A member of an organization (the `Member` schema). */
export type MemberView = Static<typeof Member>;

export interface OrganizationServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
}

export class OrganizationService {
  constructor(private readonly deps: OrganizationServiceDeps) {}

  /** Finds an organization by id or slug; outsiders get "not found" whether it exists or not. */
  async resolve(actor: Actor, idOrSlug: string, minimum: MemberRole = 'viewer'): Promise<Organization> {
    const byId = isUuid(idOrSlug);
    if (!byId && !new RegExp(patterns.slug).test(idOrSlug)) throw notFound('Organization');
    const org = await this.deps.db
      .selectFrom('organizations')
      .selectAll()
      .where(byId ? 'id' : 'slug', '=', idOrSlug)
      .executeTakeFirst();
    if (!org) throw notFound('Organization');
    await requireAccess(this.deps.db, actor, org.id, minimum);
    return org;
  }

  async list(actor: Actor): Promise<OrganizationView[]> {
    const userId = actor.kind === 'user' ? actor.userId : null;
    let q = this.deps.db.selectFrom('organizations as o').select((eb) => [
      'o.id',
      'o.slug',
      'o.name',
      'o.created_at',
      eb
        .selectFrom('memberships as c')
        .select((e) => e.fn.countAll<string>().as('n'))
        .whereRef('c.organization_id', '=', 'o.id')
        .as('member_count'),
      eb
        .selectFrom('memberships as m')
        .select('m.role')
        .whereRef('m.organization_id', '=', 'o.id')
        .where('m.user_id', '=', userId ?? '00000000-0000-0000-0000-000000000000')
        .as('role'),
    ]);
    if (actor.kind === 'user' && !actor.isPlatformAdmin) {
      q = q.where('o.id', 'in', memberOrganizations(this.deps.db, actor));
    }
    const rows = await q.orderBy('o.name').execute();
    return rows.map((r) => ({
      id: r.id,
      slug: r.slug,
      name: r.name,
      createdAt: r.created_at.toISOString(),
      role: r.role ?? null,
      memberCount: Number(r.member_count ?? 0),
    }));
  }

  /** The user's own organizations with their permissions and subscriptions (`GET /me`). */
  async mine(actor: UserActor) {
    return myOrganizations(this.deps.db, await this.list({ ...actor, isPlatformAdmin: false }), actor);
  }

  async get(actor: Actor, idOrSlug: string): Promise<OrganizationView> {
    const org = await this.resolve(actor, idOrSlug);
    const found = (await this.list(actor)).find((o) => o.id === org.id);
    if (!found) throw notFound('Organization');
    return found;
  }

  /**
   * A new organization owned by `ownerId` (sign-up, external sign-up), in the caller's transaction,
   * which records what made it. The slug comes from the name; a taken one gets `-2`, `-3`…
   */
  async createWithOwner(trx: Db, input: { name: string; ownerId: string }): Promise<Organization> {
    const name = requireLabel(input.name, 'name', limits.name);
    const base = slugFromName(name);
    for (let n = 1; ; n++) {
      const suffix = n === 1 ? '' : `-${n}`;
      const slug = `${base.slice(0, limits.slug - suffix.length).replace(/-+$/, '')}${suffix}`;
      const org = await trx
        .insertInto('organizations')
        .values({ slug, name })
        .onConflict((oc) => oc.column('slug').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!org) continue;
      await trx
        .insertInto('memberships')
        .values({ organization_id: org.id, user_id: input.ownerId, role: 'owner' })
        .execute();
      return org;
    }
  }

  /** Organizations are created by platform admins (the hosting company) for their customers. */
  async create(ctx: RequestContext, input: { slug: unknown; name: unknown }): Promise<OrganizationView> {
    requirePlatformAdmin(ctx.actor);
    const slug = requireSlug(input.slug);
    const name = requireLabel(input.name, 'name', limits.name);
    return this.deps.db.transaction().execute(async (trx) => {
      const clash = await trx.selectFrom('organizations').select('id').where('slug', '=', slug).executeTakeFirst();
      if (clash) throw new MarinaError('MARINA_E_CONFLICT', `The slug "${slug}" is already taken.`, { field: 'slug' });
      const org = await trx.insertInto('organizations').values({ slug, name }).returningAll().executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'organization.create',
          organizationId: org.id,
          target: { type: 'organization', id: org.id, label: slug },
        },
        trx,
      );
      return { id: org.id, slug, name, createdAt: org.created_at.toISOString(), role: null, memberCount: 0 };
    });
  }

  async members(actor: Actor, idOrSlug: string): Promise<MemberView[]> {
    const org = await this.resolve(actor, idOrSlug);
    const rows = await this.deps.db
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['u.id', 'u.email', 'u.name', 'u.disabled_at', 'm.role', 'm.created_at'])
      .where('m.organization_id', '=', org.id)
      .orderBy('u.email')
      .execute();
    return rows.map((r) => ({
      userId: r.id,
      email: r.email,
      name: r.name,
      role: r.role,
      joinedAt: r.created_at.toISOString(),
      disabled: r.disabled_at !== null,
    }));
  }

  async updateMember(
    ctx: RequestContext,
    idOrSlug: string,
    userId: string,
    input: { role: unknown },
  ): Promise<MemberView> {
    const org = await this.resolve(ctx.actor, idOrSlug);
    const access = await requirePermission(this.deps.db, ctx.actor, org.id, 'team.manage');
    const role = requireRole(input.role);
    return this.deps.db.transaction().execute(async (trx) => {
      const current = await this.memberForChange(trx, org.id, userId);
      if ((role === 'owner' || current.role === 'owner') && !roleAtLeast(access.role, 'owner')) {
        throw new MarinaError('MARINA_E_FORBIDDEN', 'Only owners can grant or take away the owner role.');
      }
      if (current.role === 'owner' && role !== 'owner') await this.keepAnOwner(trx, org.id);
      await trx
        .updateTable('memberships')
        .set({ role })
        .where('organization_id', '=', org.id)
        .where('user_id', '=', userId)
        .execute();
      await this.deps.audit.record(
        ctx,
        {
          action: 'member.update',
          organizationId: org.id,
          target: { type: 'member', id: userId, label: current.email },
          details: { from: current.role, to: role },
        },
        trx,
      );
      return { ...current, role };
    });
  }

  async removeMember(ctx: RequestContext, idOrSlug: string, userId: string): Promise<void> {
    const org = await this.resolve(ctx.actor, idOrSlug);
    const access = await requirePermission(this.deps.db, ctx.actor, org.id, 'team.manage');
    await this.deps.db.transaction().execute(async (trx) => {
      const current = await this.memberForChange(trx, org.id, userId);
      if (current.role === 'owner') {
        if (!roleAtLeast(access.role, 'owner'))
          throw new MarinaError('MARINA_E_FORBIDDEN', 'Only owners can remove an owner.');
        await this.keepAnOwner(trx, org.id);
      }
      await trx.deleteFrom('memberships').where('organization_id', '=', org.id).where('user_id', '=', userId).execute();
      // An invitation still pending would let them straight back in.
      const revoked = await trx
        .updateTable('invitations')
        .set({ revoked_at: this.deps.clock.now() })
        .where('organization_id', '=', org.id)
        .where('email', '=', current.email)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      // A token limited to this organization could reach nothing else: it goes with the membership.
      const tokens = await trx
        .deleteFrom('api_tokens')
        .where('user_id', '=', userId)
        .where('organization_id', '=', org.id)
        .executeTakeFirst();
      await this.deps.audit.record(
        ctx,
        {
          action: 'member.remove',
          organizationId: org.id,
          target: { type: 'member', id: userId, label: current.email },
          details: {
            role: current.role,
            invitationsRevoked: Number(revoked.numUpdatedRows),
            tokensDeleted: Number(tokens.numDeletedRows),
          },
        },
        trx,
      );
    });
  }

  private async memberForChange(trx: Db, organizationId: string, userId: string): Promise<MemberView> {
    if (!isUuid(userId)) throw notFound('Member');
    const row = await trx
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['u.id', 'u.email', 'u.name', 'u.disabled_at', 'm.role', 'm.created_at'])
      .where('m.organization_id', '=', organizationId)
      .where('m.user_id', '=', userId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw notFound('Member');
    return {
      userId: row.id,
      email: row.email,
      name: row.name,
      role: row.role,
      joinedAt: row.created_at.toISOString(),
      disabled: row.disabled_at !== null,
    };
  }

  private async keepAnOwner(trx: Db, organizationId: string): Promise<void> {
    const owners = await trx
      .selectFrom('memberships')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('organization_id', '=', organizationId)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow();
    if (Number(owners.n) <= 1) {
      throw new MarinaError(
        'MARINA_E_CONFLICT',
        'An organization keeps at least one owner; make someone else owner first.',
      );
    }
  }
}

/** A slug for a name: lower-case letters and digits joined by single dashes ("ACME Corp." → "acme-corp"). */
export function slugFromName(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, limits.slug)
    .replace(/-+$/, '');
  return slug === '' ? 'organization' : slug;
}
