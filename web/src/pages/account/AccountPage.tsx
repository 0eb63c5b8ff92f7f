import { Badge } from '../../components/Badge';
import { PageHeader } from '../../components/PageHeader';
import { useMe } from '../../session/SessionContext';
import { PasswordSection } from '../settings/PasswordSection';
import { TokensSection } from '../settings/TokensSection';
import { ProfileSection } from './ProfileSection';
import '../../styles/settings.css';
import '../../styles/portal.css';

/**
 * The signed-in person's own account, in the portal: who they are, their password and their API
 * tokens (the same sections the operator finds under Settings).
 */
export function AccountPage() {
  const me = useMe();
  return (
    <>
      <PageHeader
        title="Account"
        subtitle="Your sign-in, your password, and the API tokens your scripts and the marina CLI use."
      />
      <div className="account-page">
        <section className="card" aria-label="You">
          <header className="card-header">
            <h2>You</h2>
          </header>
          <dl className="card-body account-facts">
            <dt>Name</dt>
            <dd>{me.user.name || <span className="muted">—</span>}</dd>
            <dt>Email</dt>
            <dd>{me.user.email}</dd>
            <dt>Organizations</dt>
            <dd>
              {me.organizations.map((o) => (
                <span key={o.id} className="account-organization">
                  {o.name} <Badge tone="gray">{o.role}</Badge>
                </span>
              ))}
            </dd>
          </dl>
        </section>
        <ProfileSection />
        <PasswordSection />
        <TokensSection />
      </div>
    </>
  );
}
