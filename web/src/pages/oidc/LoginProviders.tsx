import { useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router-dom';
import { Alert } from '../../components/Alert';
import { loginProvidersQuery, oidcErrorMessages } from './api';
import '../../styles/oidc.css';

/**
 * The login page's "Sign in with …" buttons, one per enabled provider. Each is a plain link: the
 * start route sets its cookie and sends the whole page to the provider.
 */
export function LoginProviders() {
  const providers = useQuery(loginProvidersQuery());
  if (!providers.data || providers.data.length === 0) return null;
  return (
    <nav className="oidc-login" aria-label="Sign in with another account">
      <div className="oidc-login-divider">or</div>
      {providers.data.map((p) => (
        <a
          key={p.slug}
          className="btn btn-secondary btn-block"
          href={`/api/v1/auth/oidc/${encodeURIComponent(p.slug)}/start`}
        >
          Sign in with {p.name}
        </a>
      ))}
    </nav>
  );
}

/** Above the form, with the page's other notices: why the provider's answer was refused. */
export function LoginProviderError() {
  const [params] = useSearchParams();
  const code = params.get('error');
  if (!code) return null;
  return (
    <Alert kind="error" title="External sign-in">
      {oidcErrorMessages[code] ?? oidcErrorMessages.oidc_failed}
    </Alert>
  );
}
