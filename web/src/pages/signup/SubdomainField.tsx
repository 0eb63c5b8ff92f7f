import { useEffect, useState } from 'react';
import { errorMessage } from '../../api/errors';
import { Field } from '../../components/Field';
import { AlertIcon, CheckIcon } from '../../components/icons';
import { checkSubdomain, type SubdomainCheck } from './api';

/** Waits this long after the last key before asking the server (its live check allows 60 a minute). */
const DEBOUNCE_MS = 350;

type Verdict =
  | { state: 'idle' }
  | { state: 'checking' }
  | { state: 'done'; check: SubdomainCheck }
  | { state: 'error'; message: string };

const reasonText: Record<NonNullable<SubdomainCheck['reason']>, string> = {
  invalid: 'Use 3–40 lowercase letters, digits and dashes, starting with a letter.',
  reserved: 'This name is reserved.',
  taken: 'This name is already taken.',
};

/** Asks the server, a moment after typing stops, whether `<name>.<baseDomain>` is free. */
function useSubdomainCheck(name: string): Verdict {
  const [verdict, setVerdict] = useState<Verdict>({ state: 'idle' });
  useEffect(() => {
    if (!name) {
      setVerdict({ state: 'idle' });
      return;
    }
    setVerdict({ state: 'checking' });
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      checkSubdomain(name, controller.signal)
        .then((check) => setVerdict({ state: 'done', check }))
        .catch((error: unknown) => {
          if (!controller.signal.aborted) setVerdict({ state: 'error', message: errorMessage(error) });
        });
    }, DEBOUNCE_MS);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [name]);
  return verdict;
}

/** The address of the new Odoo: a label under the platform's base domain, checked live. */
export function SubdomainField({
  value,
  onChange,
  baseDomain,
  error,
}: {
  value: string;
  onChange(value: string): void;
  baseDomain: string;
  error?: string | undefined;
}) {
  const verdict = useSubdomainCheck(value);
  return (
    <Field label="Address" error={error} hint="Your Odoo will answer at this address; it cannot be changed later.">
      {(props) => (
        <>
          <div className="signup-subdomain">
            <input
              {...props}
              className="mono"
              autoComplete="off"
              spellCheck={false}
              maxLength={40}
              placeholder="your-company"
              value={value}
              onChange={(e) => onChange(e.target.value.toLowerCase().replace(/\s+/g, '-'))}
            />
            <span className="signup-subdomain-suffix mono">.{baseDomain}</span>
          </div>
          <SubdomainVerdict verdict={verdict} />
        </>
      )}
    </Field>
  );
}

function SubdomainVerdict({ verdict }: { verdict: Verdict }) {
  if (verdict.state === 'idle') return null;
  if (verdict.state === 'checking') {
    return (
      <p className="signup-check signup-check-pending" aria-live="polite" data-testid="subdomain-check">
        Checking…
      </p>
    );
  }
  if (verdict.state === 'error') {
    return (
      <p className="signup-check signup-check-bad" aria-live="polite" data-testid="subdomain-check">
        <AlertIcon width={14} height={14} /> {verdict.message}
      </p>
    );
  }
  const { check } = verdict;
  return (
    <p
      className={`signup-check ${check.available ? 'signup-check-ok' : 'signup-check-bad'}`}
      aria-live="polite"
      data-testid="subdomain-check"
      data-available={check.available}
    >
      {check.available ? <CheckIcon width={14} height={14} /> : <AlertIcon width={14} height={14} />}{' '}
      <span className="mono">{check.hostname}</span>{' '}
      {check.available
        ? 'is available.'
        : `— ${check.message ?? (check.reason ? reasonText[check.reason] : 'is not available.')}`}
    </p>
  );
}
