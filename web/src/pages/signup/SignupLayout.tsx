import type { ReactNode } from 'react';
import { Wordmark } from '../../components/Logo';
import '../../styles/signup.css';

/**
 * The frame of the sign-up pages: the login page's, with copy for someone who has no account yet
 * and a wider card for the plan and template choices.
 */
export function SignupLayout({
  title,
  subtitle,
  wide,
  icon,
  children,
}: {
  title: string;
  subtitle?: ReactNode;
  wide?: boolean;
  /** A picture above the title, for the pages that say one thing (the mail is sent). */
  icon?: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className="auth-page signup-page">
      <section className="auth-hero" aria-hidden="true">
        <Wordmark inverted />
        <div className="auth-hero-copy">
          <h2>Your Odoo, online in minutes.</h2>
          <ul className="signup-points">
            <li>Your own address, with HTTPS from the start</li>
            <li>Backups, updates and monitoring taken care of</li>
            <li>Free trial — no card needed</li>
          </ul>
        </div>
        <svg className="auth-waves" viewBox="0 0 600 160" preserveAspectRatio="none" aria-hidden="true">
          <path d="M0 80 Q75 40 150 80 T300 80 T450 80 T600 80 V160 H0 Z" fill="rgba(255,255,255,0.06)" />
          <path d="M0 110 Q75 70 150 110 T300 110 T450 110 T600 110 V160 H0 Z" fill="rgba(255,255,255,0.08)" />
        </svg>
      </section>
      <main className="auth-main">
        <div className={wide ? 'auth-card signup-card-wide' : 'auth-card'}>
          {icon ? (
            <span className="signup-icon" aria-hidden="true">
              {icon}
            </span>
          ) : null}
          <h1>{title}</h1>
          {subtitle ? <p className="auth-subtitle">{subtitle}</p> : null}
          {children}
        </div>
      </main>
    </div>
  );
}
