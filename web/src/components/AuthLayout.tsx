import type { ReactNode } from 'react';
import { Wordmark } from './Logo';

/** The frame of the pages people see before they are signed in. */
export function AuthLayout({
  title,
  subtitle,
  children,
}: {
  title: string;
  subtitle?: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className="auth-page">
      <section className="auth-hero" aria-hidden="true">
        <Wordmark inverted />
        <div className="auth-hero-copy">
          <h2>Odoo hosting you run yourself.</h2>
          <p>Provision, operate, back up and update Odoo instances for every customer from one place.</p>
        </div>
        <svg className="auth-waves" viewBox="0 0 600 160" preserveAspectRatio="none" aria-hidden="true">
          <path d="M0 80 Q75 40 150 80 T300 80 T450 80 T600 80 V160 H0 Z" fill="rgba(255,255,255,0.06)" />
          <path d="M0 110 Q75 70 150 110 T300 110 T450 110 T600 110 V160 H0 Z" fill="rgba(255,255,255,0.08)" />
        </svg>
      </section>
      <main className="auth-main">
        <div className="auth-card">
          <h1>{title}</h1>
          {subtitle ? <p className="auth-subtitle">{subtitle}</p> : null}
          {children}
        </div>
      </main>
    </div>
  );
}
