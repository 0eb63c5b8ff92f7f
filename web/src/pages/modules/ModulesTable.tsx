import type { OdooModule } from '../../api/types';
import { Badge, type BadgeTone } from '../../components/Badge';
import { DataTable } from '../../components/DataTable';

const stateTones: Record<string, BadgeTone> = {
  installed: 'green',
  uninstalled: 'gray',
  available: 'teal',
  'to install': 'amber',
  'to upgrade': 'amber',
  'to remove': 'amber',
  uninstallable: 'red',
};

const stateTitles: Record<string, string> = {
  available: 'In a repository, not yet in Odoo’s apps list: Install adds it (or update the apps list first).',
  uninstallable: 'Odoo cannot install it (missing dependencies or not installable).',
  'to install': 'Left half-done by an interrupted operation.',
  'to upgrade': 'Left half-done by an interrupted operation.',
  'to remove': 'Left half-done by an interrupted operation.',
};

export const isInstalled = (m: Pick<OdooModule, 'state'>): boolean =>
  m.state === 'installed' || m.state === 'to upgrade';
export const isInstallable = (m: Pick<OdooModule, 'state'>): boolean =>
  m.state === 'uninstalled' || m.state === 'available';
export const canSelect = (m: Pick<OdooModule, 'state'>): boolean => isInstalled(m) || isInstallable(m);

/** An installed module whose code in the repository carries another version: an upgrade is due. */
export const hasUpdate = (m: OdooModule): boolean =>
  isInstalled(m) &&
  m.availableVersion !== null &&
  m.installedVersion !== null &&
  m.availableVersion !== m.installedVersion;

export function ModulesTable({
  modules,
  selected,
  onToggle,
  onToggleAll,
  selectable,
}: {
  modules: OdooModule[];
  selected: ReadonlySet<string>;
  onToggle(name: string, on: boolean): void;
  onToggleAll(on: boolean): void;
  selectable: boolean;
}) {
  const choosable = modules.filter(canSelect);
  const allOn = choosable.length > 0 && choosable.every((m) => selected.has(m.name));
  return (
    <DataTable
      label="Modules"
      className="modules-table"
      rows={modules}
      rowKey={(m) => m.name}
      rowProps={(m) => ({
        'data-module': m.name,
        'data-state': m.state,
        className: selected.has(m.name) ? 'row-selected' : undefined,
      })}
      columns={[
        selectable && {
          header: (
            <input
              type="checkbox"
              aria-label="Select all shown"
              checked={allOn}
              disabled={choosable.length === 0}
              onChange={(e) => onToggleAll(e.target.checked)}
            />
          ),
          headerClassName: 'select-cell',
          className: 'select-cell',
          cell: (m) => (
            <input
              type="checkbox"
              aria-label={`Select ${m.name}`}
              checked={selected.has(m.name)}
              disabled={!canSelect(m)}
              onChange={(e) => onToggle(m.name, e.target.checked)}
            />
          ),
        },
        {
          header: 'Module',
          cell: (m) => (
            <span className="stacked-time module-name">
              <span className="row-title mono">{m.name}</span>
              {m.title ? (
                <span className="muted" title={m.summary ?? undefined}>
                  {m.title}
                </span>
              ) : null}
            </span>
          ),
        },
        {
          header: 'State',
          cell: (m) => (
            <span title={stateTitles[m.state]} data-testid="module-state">
              <Badge tone={stateTones[m.state] ?? 'gray'}>{m.state}</Badge>
            </span>
          ),
        },
        {
          header: 'Installed',
          className: 'mono nowrap module-version',
          cell: (m) => m.installedVersion ?? <span className="muted">—</span>,
        },
        {
          header: 'Available',
          className: 'nowrap module-version',
          cell: (m) => (
            <>
              <span className="mono">{m.availableVersion ?? <span className="muted">—</span>}</span>
              {hasUpdate(m) ? (
                <span className="update-hint" data-testid="update-available">
                  update available
                </span>
              ) : null}
            </>
          ),
        },
        { header: 'Author', className: 'module-author', cell: (m) => m.author ?? <span className="muted">—</span> },
        { header: 'App', cell: (m) => (m.application ? <Badge tone="violet">app</Badge> : null) },
        { header: 'Repository', className: 'mono', cell: (m) => m.repository ?? <span className="muted">Odoo</span> },
      ]}
    />
  );
}
