import { type ReactNode, useId } from 'react';

/** A radio input drawn as a card; the hint describes it without becoming part of its name. */
export function ChoiceCard({
  name,
  value,
  checked,
  onChange,
  title,
  hint,
  className,
  disabled,
}: {
  name: string;
  value: string;
  checked: boolean;
  onChange(): void;
  title: ReactNode;
  hint: ReactNode;
  className?: string;
  disabled?: boolean;
}) {
  const id = useId();
  const titleId = `${id}-title`;
  const hintId = `${id}-hint`;
  return (
    <label
      className={`choice-card${checked ? ' checked' : ''}${disabled ? ' disabled' : ''}${className ? ` ${className}` : ''}`}
    >
      <input
        type="radio"
        name={name}
        value={value}
        checked={checked}
        onChange={onChange}
        disabled={disabled}
        aria-labelledby={titleId}
        aria-describedby={hintId}
      />
      <span className="choice-text">
        <span id={titleId} className="choice-title">
          {title}
        </span>
        <span id={hintId} className="choice-hint">
          {hint}
        </span>
      </span>
    </label>
  );
}

/** A checkbox with its label and an explanation underneath. */
export function CheckboxField({
  label,
  hint,
  checked,
  onChange,
  disabled,
}: {
  label: ReactNode;
  hint?: ReactNode;
  checked: boolean;
  onChange(checked: boolean): void;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div className={`checkbox-field${disabled ? ' disabled' : ''}`}>
      <input
        id={id}
        type="checkbox"
        checked={checked}
        disabled={disabled}
        onChange={(e) => onChange(e.target.checked)}
        aria-describedby={hint ? `${id}-hint` : undefined}
      />
      <div>
        <label htmlFor={id}>{label}</label>
        {hint ? (
          <p id={`${id}-hint`} className="field-hint">
            {hint}
          </p>
        ) : null}
      </div>
    </div>
  );
}
