import type { ReactNode } from 'react';
import { Field } from './Field';
import '../styles/pem-field.css';

/** The files a certificate or a key in PEM form usually comes in. */
const PEM_FILES = '.pem,.crt,.cer,.key,text/plain';

/**
 * A PEM text (a certificate, a key, an OpenSSH private key): pasted, or read from the file the
 * person picks.
 */
export function PemField({
  label,
  hint,
  marker,
  value,
  onChange,
  error,
  rows = 6,
  anyFile = false,
}: {
  label: string;
  hint: ReactNode;
  /** What the text begins with after "-----BEGIN ": CERTIFICATE, PRIVATE KEY, OPENSSH PRIVATE KEY. */
  marker: string;
  value: string;
  onChange(value: string): void;
  error?: string | undefined;
  rows?: number;
  /** Offer every file, not only *.pem and the like: an SSH key is `id_ed25519`, without an extension. */
  anyFile?: boolean;
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
            accept={anyFile ? undefined : PEM_FILES}
            onChange={(e) => void read(e.target.files?.[0])}
          />
        </div>
      )}
    </Field>
  );
}
