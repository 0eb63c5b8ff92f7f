import type { ReactNode } from 'react';
import { Field } from './Field';
import '../styles/pem-field.css';

/** A PEM text (a certificate or a key): pasted, or read from the file the person picks. */
export function PemField({
  label,
  hint,
  marker,
  value,
  onChange,
  error,
  rows = 6,
}: {
  label: string;
  hint: ReactNode;
  /** What the text begins with after "-----BEGIN ": CERTIFICATE, PRIVATE KEY. */
  marker: string;
  value: string;
  onChange(value: string): void;
  error?: string | undefined;
  rows?: number;
}) {
  async function read(file: File | undefined) {
    if (file) onChange(await file.text());
  }
  return (
    <Field label={label} hint={hint} error={error}>
      {(props) => (
        <div className="pem-field">
          <textarea
            {...props}
            className="mono"
            rows={rows}
            spellCheck={false}
            autoComplete="off"
            placeholder={`-----BEGIN ${marker}-----`}
            value={value}
            onChange={(e) => onChange(e.target.value)}
          />
          <input
            type="file"
            aria-label={`${label} file`}
            accept=".pem,.crt,.cer,.key,text/plain"
            onChange={(e) => void read(e.target.files?.[0])}
          />
        </div>
      )}
    </Field>
  );
}
