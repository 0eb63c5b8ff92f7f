import type { Db } from '../../db/database.js';
import type { InstanceService } from '../instances/service.js';

/** Long enough to spare Docker a look per request, short enough to follow a container made again. */
const KEEP_MS = 2000;

/** An instance's label in the Odoo zone: its id without dashes (lowercase hex). */
export const odooLabel = (instanceId: string): string => instanceId.replace(/-/g, '').toLowerCase();

const idOf = (label: string): string =>
  `${label.slice(0, 8)}-${label.slice(8, 12)}-${label.slice(12, 16)}-${label.slice(16, 20)}-${label.slice(20)}`;

export interface OdooAddressesDeps {
  db: Db;
  instances: Pick<InstanceService, 'publishes' | 'odooAddress'>;
  keepMs?: number;
  now?: () => number;
}

/**
 * What the edge DNS answers for `<instance id, hex>.odoo.marina.internal`: the current address of
 * the instance's Odoo container on its organization's network, asked of the runtime and kept for
 * a moment (forgotten at once when the instance changes). No answer for an instance whose ports are
 * published (the proxy dials those) or that does not run: Caddy then shows the maintenance page.
 */
export class OdooAddresses {
  private readonly kept = new Map<string, { answer: Promise<string | null>; until: number }>();

  constructor(private readonly deps: OdooAddressesDeps) {}

  lookup(label: string): Promise<string | null> {
    const key = label.toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(key)) return Promise.resolve(null);
    const now = this.deps.now?.() ?? Date.now();
    const kept = this.kept.get(key);
    if (kept && kept.until > now) return kept.answer;
    // One look per moment, however many queries arrive at once; a failed look is not kept.
    const answer = this.find(idOf(key));
    this.kept.set(key, { answer, until: now + (this.deps.keepMs ?? KEEP_MS) });
    answer.catch(() => this.kept.delete(key));
    return answer;
  }

  /** The instance changed (started, stopped, made again, removed): ask the runtime next time. */
  forget(instanceId: string): void {
    this.kept.delete(odooLabel(instanceId));
  }

  private async find(id: string): Promise<string | null> {
    const row = await this.deps.db
      .selectFrom('instances')
      .select(['host_id', 'container_name', 'organization_id'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row || this.deps.instances.publishes(row)) return null;
    return (await this.deps.instances.odooAddress(row)) ?? null;
  }
}
