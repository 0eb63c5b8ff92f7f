import { Link, useLocation } from 'react-router-dom';
import { MailIcon } from '../../components/icons';
import { SignupLayout } from './SignupLayout';

/** `/signup/sent`: the form went; the link in the mail does the rest. */
export function SentPage() {
  const email = (useLocation().state as { email?: string } | null)?.email;
  return (
    <SignupLayout title="Check your inbox" icon={<MailIcon width={28} height={28} />}>
      <div className="signup-sent" data-testid="signup-sent">
        <p>
          We sent a link to {email ? <strong>{email}</strong> : 'your address'}. Open it within 24 hours to confirm the
          address — your Odoo is created the moment you do.
        </p>
        <p className="muted">
          Nothing there? Look in the spam folder, or <Link to="/signup">sign up again</Link> — the newest link is the
          one that works.
        </p>
      </div>
      <p className="auth-footnote">
        Already confirmed? <Link to="/login">Sign in</Link>
      </p>
    </SignupLayout>
  );
}
