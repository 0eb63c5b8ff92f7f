const shortcuts: [string, string][] = [
  ['R', 'Reload the log'],
  ['S', 'Stream on / off'],
  ['P', 'Pause / resume'],
  ['A', 'Auto-scroll on / off'],
  ['C', 'Clear the view'],
  ['/', 'Search'],
  ['?', 'These shortcuts'],
];

/** The "?" button and the list of keyboard shortcuts it opens. */
export function ShortcutsHelp({
  id,
  open,
  onToggle,
  variant,
}: {
  id: string;
  open: boolean;
  onToggle(): void;
  variant: 'page' | 'embedded';
}) {
  return (
    <div className="log-help-wrap">
      <button
        type="button"
        className="log-btn log-btn-icon"
        aria-expanded={open}
        aria-controls={id}
        aria-label="Keyboard shortcuts"
        aria-keyshortcuts="?"
        title="Keyboard shortcuts (?)"
        onClick={onToggle}
      >
        ?
      </button>
      {open ? (
        <div className="log-help" id={id} role="note" aria-label="Keyboard shortcuts">
          <strong>Keyboard shortcuts</strong>
          <dl>
            {shortcuts.map(([key, what]) => (
              <div key={key} className="log-help-row">
                <dt>
                  <kbd className="log-kbd">{key}</kbd>
                </dt>
                <dd>{what}</dd>
              </div>
            ))}
          </dl>
          <span className="log-dim">
            {variant === 'embedded' ? 'While the log has focus; not' : 'Not'} while typing in a field.
          </span>
        </div>
      ) : null}
    </div>
  );
}
