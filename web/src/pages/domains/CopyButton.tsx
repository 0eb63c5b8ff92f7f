import { useEffect, useRef, useState } from 'react';
import { CheckIcon, CopyIcon } from '../../components/icons';

/** Copies one value (a DNS record's, a generated password) and says so for two seconds. */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  async function copy() {
    let outcome: 'yes' | 'failed' = 'yes';
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // No Clipboard API outside a secure context (plain http on a LAN address): copy a selection instead.
      outcome = copyBySelection(value) ? 'yes' : 'failed';
    }
    setCopied(outcome);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setCopied(null), 2000);
  }

  return (
    <button
      type="button"
      className="btn btn-ghost btn-small copy-button"
      aria-label={copied === 'yes' ? `${label} copied` : `Copy ${label}`}
      onClick={copy}
    >
      {copied === 'yes' ? <CheckIcon width={14} height={14} /> : <CopyIcon width={14} height={14} />}
      <span aria-live="polite">{copied === 'yes' ? 'Copied' : copied === 'failed' ? 'Select and copy' : 'Copy'}</span>
    </button>
  );
}

function copyBySelection(value: string): boolean {
  const area = document.createElement('textarea');
  area.value = value;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  const done = document.execCommand('copy');
  area.remove();
  return done;
}
