/**
 * What Marina knows about each Odoo major version it can run. Facts here were checked against
 * the Odoo sources of each branch (odoo/tools/config.py, addons/web/controllers).
 */
export type OdooVersion = '16.0' | '17.0' | '18.0' | '19.0';
export const odooVersions: readonly OdooVersion[] = ['16.0', '17.0', '18.0', '19.0'];

export interface VersionFacts {
  version: OdooVersion;
  major: number;
  /** `GET /web/health` exists since 15.0; 18.0+ also accepts `?db_server_status=1`. */
  healthPath: string;
  /** `odoo neutralize -d DB` exists since 16.0. */
  neutralize: boolean;
  /** How odoo.conf says "no demo data": 19.0 reads a boolean, earlier versions a module list. */
  withoutDemo: string;
  /**
   * The command-line argument that loads demo data in one init run despite odoo.conf's
   * `without_demo`: up to 18.0 any value given on the command line replaces the file's and an
   * empty one means "none without demo" (tools/config.py); 19.0 has `--with-demo`.
   */
  demoOverride: string;
}

export function versionFacts(version: OdooVersion): VersionFacts {
  const major = Number.parseInt(version, 10);
  return {
    version,
    major,
    healthPath: major >= 18 ? '/web/health?db_server_status=1' : '/web/health',
    neutralize: major >= 16,
    withoutDemo: major >= 19 ? 'True' : 'all',
    demoOverride: major >= 19 ? '--with-demo' : '--without-demo=',
  };
}

export function parseOdooVersion(value: unknown): OdooVersion | undefined {
  if (typeof value !== 'string') return undefined;
  const normalized = /^\d+$/.test(value) ? `${value}.0` : value;
  return odooVersions.find((v) => v === normalized);
}

export interface CatalogEntry {
  version: OdooVersion;
  image: string;
  /** A host folder holding an Odoo source tree, mounted read-only at /opt/odoo (how tests run real Odoo). */
  sourceMount: string | undefined;
  /** Server-wide modules when the default does not fit (a trimmed 19.0 lacks `rpc`). */
  serverWideModules: string | undefined;
}

export type CatalogOverrides = Partial<Record<OdooVersion, Partial<Omit<CatalogEntry, 'version'>>>>;

/** Official `odoo:<version>` images unless the operator overrides a version. */
export function buildCatalog(overrides: CatalogOverrides = {}): Record<OdooVersion, CatalogEntry> {
  const entries = odooVersions.map((version): [OdooVersion, CatalogEntry] => {
    const o = overrides[version] ?? {};
    return [
      version,
      {
        version,
        image: o.image ?? `odoo:${Number.parseInt(version, 10)}`,
        sourceMount: o.sourceMount,
        serverWideModules: o.serverWideModules,
      },
    ];
  });
  return Object.fromEntries(entries) as Record<OdooVersion, CatalogEntry>;
}
