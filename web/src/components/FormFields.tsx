import type { ReactNode } from 'react';
import { slugMessage } from '../../../src/platform/name-rule';
import { limits } from '../api/limits';
import { Field } from './Field';

/** What every one-line field takes; the label, hint and error go to Field. */
interface TextFieldProps {
  label?: string;
  value: string;
  onChange(value: string): void;
  error?: string | undefined;
  hint?: ReactNode;
  optional?: boolean;
  required?: boolean;
  placeholder?: string;
  autoComplete?: string;
}

/** An email address, as long as the server accepts. */
export function EmailField({
  label = 'Email',
  value,
  onChange,
  error,
  hint,
  optional,
  required,
  placeholder,
  autoComplete = 'email',
}: TextFieldProps) {
  return (
    <Field label={label} hint={hint} error={error} optional={optional}>
      {(props) => (
        <input
          {...props}
          type="email"
          required={required}
          maxLength={limits.email.maxLength}
          autoComplete={autoComplete}
          placeholder={placeholder}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

/** A human name (a person, an organization, a token, a destination); `maxLength` when the server has its own. */
export function NameField({
  label = 'Name',
  value,
  onChange,
  error,
  hint,
  optional,
  required,
  placeholder,
  autoComplete,
  maxLength = limits.name.maxLength,
}: TextFieldProps & { maxLength?: number }) {
  return (
    <Field label={label} hint={hint} error={error} optional={optional}>
      {(props) => (
        <input
          {...props}
          required={required}
          maxLength={maxLength}
          autoComplete={autoComplete}
          placeholder={placeholder}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

/**
 * A machine name (an organization's or a project's slug, an instance's name): monospace, and
 * lowercased as it is typed when `lowercase` (the server accepts lowercase only).
 */
export function SlugField({
  label = 'Slug',
  value,
  onChange,
  error,
  hint,
  optional,
  required,
  placeholder,
  autoComplete,
  maxLength = limits.slug.maxLength,
  lowercase = false,
}: TextFieldProps & { maxLength?: number; lowercase?: boolean }) {
  // Checked as it is typed, in the server's own words (src/platform/name-rule.ts), against the
  // pattern the server publishes; a server error (a name already taken) shows when the rule is met.
  const live =
    value !== '' && (!limits.slugPattern.test(value) || value.length > maxLength)
      ? slugMessage(value, maxLength)
      : null;
  return (
    <Field label={label} hint={hint} error={live ?? error} optional={optional}>
      {(props) => (
        <input
          {...props}
          required={required}
          className="mono"
          maxLength={maxLength}
          autoComplete={autoComplete}
          placeholder={placeholder}
          value={value}
          onChange={(e) => onChange(lowercase ? e.target.value.toLowerCase() : e.target.value)}
        />
      )}
    </Field>
  );
}
