import { existsSync } from 'node:fs';
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { type CatalogEntry, type OdooVersion, odooVersions } from '../../odoo/versions.js';
import { MarinaError } from '../../platform/errors.js';
import type { Runtime } from '../../runtime/port.js';

/** One Odoo version as the new-instance form offers it: runnable here or not, and what is missing. */
export const OdooVersionAvailability = Type.Object({
  version: Type.String({ description: 'e.g. 17.0' }),
  image: Type.String({ description: 'The image the version runs (MARINA_ODOO_<major>_IMAGE)' }),
  available: Type.Boolean(),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'What is missing when not available' }),
});
export type OdooVersionAvailability = Static<typeof OdooVersionAvailability>;

export interface OdooVersionsDeps {
  catalog: Record<OdooVersion, CatalogEntry>;
  /** The host new instances go to, and its runtime (or why it cannot be reached). */
  hostId: string;
  runtime(): Promise<Runtime>;
}

/** Which catalogued versions can run on the host new instances go to; nothing is cached (an image may be built at any time). */
export class OdooVersions {
  constructor(private readonly deps: OdooVersionsDeps) {}

  async list(): Promise<OdooVersionAvailability[]> {
    let runtime: Runtime | null = null;
    let unreachable = '';
    try {
      runtime = await this.deps.runtime();
    } catch (error) {
      unreachable = (error as Error).message;
    }
    const answers: OdooVersionAvailability[] = [];
    for (const version of odooVersions) {
      const entry = this.deps.catalog[version];
      answers.push({ version, image: entry.image, ...(await this.check(entry, runtime, unreachable)) });
    }
    return answers;
  }

  /**
   * Refuses a version known not to run here, saying what is missing. A host that does not answer
   * refuses nothing: the job's first step says that, with the engine's own error.
   */
  async requireAvailable(version: string): Promise<void> {
    try {
      await this.deps.runtime();
    } catch {
      return;
    }
    const found = (await this.list()).find((v) => v.version === version);
    if (found?.available) return;
    throw new MarinaError(
      'MARINA_E_ODOO_VERSION_UNAVAILABLE',
      `Odoo ${version} cannot run here: ${found?.reason ?? 'it is not in the version catalog.'}`,
      { field: 'odooVersion', version },
    );
  }

  private async check(
    entry: CatalogEntry,
    runtime: Runtime | null,
    unreachable: string,
  ): Promise<{ available: boolean; reason: string | null }> {
    const major = Number.parseInt(entry.version, 10);
    if (entry.sourceMount && !existsSync(entry.sourceMount)) {
      return {
        available: false,
        reason: `its Odoo source folder ${entry.sourceMount} (MARINA_ODOO_${major}_SOURCE) does not exist.`,
      };
    }
    if (!runtime) return { available: false, reason: `host ${this.deps.hostId} cannot be reached: ${unreachable}` };
    const present = await runtime.hasImage(entry.image).catch(() => false);
    if (present) return { available: true, reason: null };
    return {
      available: false,
      reason: `image ${entry.image} not found on host ${this.deps.hostId}; build or pull it there, or set MARINA_ODOO_${major}_IMAGE to an image that is.`,
    };
  }
}
