import type { ReactNode } from 'react';
import { AlertIcon, CheckIcon } from './icons';

type Kind = 'error' | 'success' | 'info' | 'warning';

export function Alert({ kind, title, children }: { kind: Kind; title?: string; children: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      <span className="alert-icon">{kind === 'success' ? <CheckIcon /> : <AlertIcon />}</span>
      <div className="alert-content">
        {title ? <strong className="alert-title">{title}</strong> : null}
        <div>{children}</div>
      </div>
    </div>
  );
}
