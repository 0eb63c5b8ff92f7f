import { useRef } from 'react';
import { limits } from '../api/limits';
import { Field } from './Field';

export const PASSWORD_HINT = `At least ${limits.password.minLength} characters with some variety; common passwords are refused.`;

/** The password of an existing account (signing in, confirming a change). */
export function PasswordField({
  label = 'Password',
  value,
  onChange,
  error,
  hint,
  required,
}: {
  label?: string;
  value: string;
  onChange(value: string): void;
  error?: string | undefined;
  hint?: string;
  required?: boolean;
}) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(props) => (
        <input
          {...props}
          type="password"
          autoComplete="current-password"
          required={required}
          maxLength={limits.password.maxLength}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

interface PasswordFieldsProps {
  password: string;
  confirm: string;
  onPassword(value: string): void;
  onConfirm(value: string): void;
  error?: string | undefined;
  label?: string;
}

/** A new password twice, so a typo cannot lock the user out. */
export function PasswordFields({
  password,
  confirm,
  onPassword,
  onConfirm,
  error,
  label = 'Password',
}: PasswordFieldsProps) {
  const mismatch = confirm.length > 0 && confirm !== password ? 'The two passwords differ.' : undefined;
  // The server judged one password ("too weak"): once another is typed, that verdict is no longer
  // true of what the field holds, so it goes (the next submit judges the new one).
  const judged = useRef<{ error: string | undefined; password: string }>({ error, password });
  if (judged.current.error !== error) judged.current = { error, password };
  const shownError = password === judged.current.password ? error : undefined;
  return (
    <>
      <Field label={label} hint={PASSWORD_HINT} error={shownError}>
        {(props) => (
          <input
            {...props}
            type="password"
            autoComplete="new-password"
            required
            maxLength={limits.password.maxLength}
            value={password}
            onChange={(e) => onPassword(e.target.value)}
          />
        )}
      </Field>
      <Field label={`Confirm ${label.toLowerCase()}`} error={mismatch}>
        {(props) => (
          <input
            {...props}
            type="password"
            autoComplete="new-password"
            required
            maxLength={limits.password.maxLength}
            value={confirm}
            onChange={(e) => onConfirm(e.target.value)}
          />
        )}
      </Field>
    </>
  );
}

export const passwordsReady = (password: string, confirm: string): boolean =>
  password.length > 0 && password === confirm;
