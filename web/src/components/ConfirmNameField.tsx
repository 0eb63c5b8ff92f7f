/** Whether the typed text is the instance's name; spaces around it do not count. */
export const typedNameMatches = (typed: string, name: string): boolean => typed.trim() === name;

/**
 * Where the user types a production instance's name before an action that stops it or changes its
 * data (stop, delete, uninstalling modules, restoring over it): the server refuses these without the
 * name, and typing it makes the user read which instance they are about to change.
 */
export function ConfirmNameField({
  id,
  name,
  value,
  onChange,
  verb,
}: {
  /** Each dialog keeps its own id, so a label never points at another dialog's input. */
  id: string;
  /** The production instance's name, the text to type. */
  name: string;
  value: string;
  onChange(value: string): void;
  /** Says "Type its name to {verb}." (e.g. "restore"); without it, "Type {name} to confirm." */
  verb?: string;
}) {
  return (
    <div className="field confirm-name">
      <label htmlFor={id}>
        {verb ? (
          <span>
            <strong className="mono">{name}</strong> is a production instance. Type its name to {verb}.
          </span>
        ) : (
          <>
            This is a production instance. Type <strong className="mono">{name}</strong> to confirm.
          </>
        )}
      </label>
      <input
        id={id}
        className="mono"
        autoComplete="off"
        spellCheck={false}
        placeholder={name}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    </div>
  );
}
