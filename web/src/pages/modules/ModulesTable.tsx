import type { OdooModule } from '../../api/types';
import { Badge, type BadgeTone } from '../../components/Badge';

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
    <div className="table-wrap">
      <table className="table modules-table" aria-label="Modules">
        <thead>
          <tr>
            {selectable ? (
              <th scope="col" className="select-cell">
                <input
                  type="checkbox"
                  aria-label="Select all shown"
                  checked={allOn}
                  disabled={choosable.length === 0}
                  onChange={(e) => onToggleAll(e.target.checked)}
                />
              </th>
            ) : null}
            <th scope="col">Module</th>
            <th scope="col">State</th>
            <th scope="col">Installed</th>
            <th scope="col">Available</th>
            <th scope="col">Author</th>
            <th scope="col">App</th>
            <th scope="col">Repository</th>
          </tr>
        </thead>
        <tbody>
          {modules.map((m) => {
            const update = hasUpdate(m);
            return (
              <tr
                key={m.name}
                data-module={m.name}
                data-state={m.state}
                className={selected.has(m.name) ? 'row-selected' : undefined}
              >
                {selectable ? (
                  <td className="select-cell">
                    <input
                      type="checkbox"
                      aria-label={`Select ${m.name}`}
                      checked={selected.has(m.name)}
                      disabled={!canSelect(m)}
                      onChange={(e) => onToggle(m.name, e.target.checked)}
                    />
                  </td>
                ) : null}
                <td>
                  <span className="stacked-time module-name">
                    <span className="row-title mono">{m.name}</span>
                    {m.title ? (
                      <span className="muted" title={m.summary ?? undefined}>
                        {m.title}
                      </span>
                    ) : null}
                  </span>
                </td>
                <td>
                  <span title={stateTitles[m.state]} data-testid="module-state">
                    <Badge tone={stateTones[m.state] ?? 'gray'}>{m.state}</Badge>
                  </span>
                </td>
                <td className="mono nowrap module-version">{m.installedVersion ?? <span className="muted">—</span>}</td>
                <td className="nowrap module-version">
                  <span className="mono">{m.availableVersion ?? <span className="muted">—</span>}</span>
                  {update ? (
                    <span className="update-hint" data-testid="update-available">
                      update available
                    </span>
                  ) : null}
                </td>
                <td className="module-author">{m.author ?? <span className="muted">—</span>}</td>
                <td>{m.application ? <Badge tone="violet">app</Badge> : null}</td>
                <td className="mono">{m.repository ?? <span className="muted">Odoo</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
