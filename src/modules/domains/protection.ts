import { randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import bcrypt from 'bcryptjs';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Instance, InstanceProtection } from '../../db/schema.js';
import type { AuditService } from '../../platform/audit/service.js';
import { instanceTarget } from '../../platform/audit/targets.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import type { SealedAt, SecretBox } from '../../platform/secrets/secret-box.js';
import type { InstanceService } from '../instances/service.js';
import type { Protection } from './schemas.js';
import type { EdgeLink } from './settings.js';

export type ProtectionView = Static<typeof Protection>;

export interface ProtectionServiceDeps {
  db: Db;
  audit: AuditService;
  box: SecretBox;
  instances: InstanceService;
  edge?: EdgeLink;
}

const MAX_ADDRESSES = 100;
/** Cost of the bcrypt hash the edge checks on every request: enough, and cheap enough per request. */
const BCRYPT_ROUNDS = 10;

/** Where a basic-auth password is sealed: inside the instance's protection (jsonb). */
export const protectionPasswordAt = (instanceId: string): SealedAt => ({
  table: 'instances',
  column: 'protection.password',
  row: instanceId,
});

/** One IP address or CIDR block, normalized (`10.0.0.0/8`, `2001:db8::/32`); refused with a clear reason otherwise. */
export function normalizeAddress(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalidAddress(String(value), 'an IP address or a CIDR block is expected.');
  const text = value.trim();
  const [address = '', prefix, ...rest] = text.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) throw invalidAddress(text, 'it is not an IP address or a CIDR block.');
  if (prefix === undefined) return address.toLowerCase();
  const bits = Number(prefix);
  const max = family === 4 ? 32 : 128;
  if (!/^[0-9]{1,3}$/.test(prefix) || bits > max) throw invalidAddress(text, `the prefix length must be 0 to ${max}.`);
  // Checks Node accepts it as a subnet (the edge's matcher does the same).
  new BlockList().addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
  return `${address.toLowerCase()}/${bits}`;
}

function invalidAddress(value: string, reason: string): MarinaError {
  return new MarinaError('MARINA_E_VALIDATION', `"${value}" cannot be allowed: ${reason}`, { field: 'addresses' });
}

/**
 * Access protection of a non-production instance through the edge: a Marina-generated password
 * (shown once; sealed, with a bcrypt hash the proxy checks) or an allow-list of client addresses.
 * Production stays public (Odoo's own sign-in protects it).
 */
export class ProtectionService {
  constructor(private readonly deps: ProtectionServiceDeps) {}

  async get(actor: Actor, instanceId: string): Promise<ProtectionView> {
    return viewOf((await this.deps.instances.get(actor, instanceId)).protection);
  }

  async set(ctx: RequestContext, instanceId: string, input: { kind: unknown; addresses?: unknown }) {
    const instance = await this.deps.instances.get(ctx.actor, instanceId);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'instance.operate');
    const { protection, password } = await this.build(instance, input);
    if (protection && instance.stage === 'production')
      throw new MarinaError(
        'MARINA_E_PROTECTION_REFUSED',
        'A production instance cannot be protected by a password or an address list: it serves its users in public.',
      );
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('instances').set({ protection }).where('id', '=', instance.id).execute();
      await this.deps.audit.record(
        ctx,
        {
          action: 'instance.set_protection',
          organizationId: instance.organization_id,
          target: await instanceTarget(trx, instance),
          details: {
            kind: protection?.kind ?? 'none',
            ...(protection?.kind === 'allow' ? { addresses: protection.addresses } : {}),
          },
        },
        trx,
      );
    });
    this.deps.edge?.sync(`protection of ${instance.name} changed`);
    return { ...viewOf(protection), ...(password ? { password } : {}) };
  }

  private async build(
    instance: Instance,
    input: { kind: unknown; addresses?: unknown },
  ): Promise<{ protection: InstanceProtection | null; password?: string }> {
    if (input.kind === 'none') return { protection: null };
    if (input.kind === 'basic') {
      const password = randomBytes(18).toString('base64url');
      const username = instance.name;
      return {
        protection: {
          kind: 'basic',
          username,
          password: this.deps.box.seal(password, protectionPasswordAt(instance.id)),
          hash: await bcrypt.hash(password, BCRYPT_ROUNDS),
        },
        password,
      };
    }
    if (input.kind === 'allow') {
      if (!Array.isArray(input.addresses) || input.addresses.length === 0)
        throw new MarinaError('MARINA_E_VALIDATION', 'Give at least one IP address or CIDR block to allow.', {
          field: 'addresses',
        });
      if (input.addresses.length > MAX_ADDRESSES)
        throw new MarinaError('MARINA_E_VALIDATION', `At most ${MAX_ADDRESSES} addresses.`, { field: 'addresses' });
      return { protection: { kind: 'allow', addresses: [...new Set(input.addresses.map(normalizeAddress))] } };
    }
    throw new MarinaError('MARINA_E_VALIDATION', 'kind must be one of none, basic, allow.', { field: 'kind' });
  }
}

function viewOf(protection: InstanceProtection | null): ProtectionView {
  if (!protection) return { kind: 'none' };
  if (protection.kind === 'basic') return { kind: 'basic', username: protection.username };
  return { kind: 'allow', addresses: protection.addresses };
}
