import { useState } from 'react';
import type { Rendered } from './types';

/**
 * The rendered mail. The HTML goes into a sandboxed frame (no scripts, no same-origin, no forms):
 * whatever an admin typed cannot act as Marina's page.
 */
export function MailPreview({ rendered }: { rendered: Rendered }) {
  const [part, setPart] = useState<'html' | 'text'>('html');
  return (
    <div className="mail-preview">
      <div className="mail-preview-subject">
        <span className="muted">Subject</span> <strong data-testid="preview-subject">{rendered.subject}</strong>
      </div>
      <div className="mail-preview-tabs" role="tablist" aria-label="Part">
        {(['html', 'text'] as const).map((p) => (
          <button
            key={p}
            type="button"
            role="tab"
            aria-selected={part === p}
            className={part === p ? 'tab active' : 'tab'}
            onClick={() => setPart(p)}
          >
            {p === 'html' ? 'HTML' : 'Text'}
          </button>
        ))}
      </div>
      {part === 'html' ? (
        <iframe className="mail-preview-frame" title="HTML preview" sandbox="" srcDoc={rendered.html} />
      ) : (
        <pre className="mail-preview-text" data-testid="preview-text">
          {rendered.text}
        </pre>
      )}
    </div>
  );
}
