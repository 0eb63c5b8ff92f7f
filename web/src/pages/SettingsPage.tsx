import { lazy, Suspense, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Loading } from '../components/EmptyState';
import {
  BookIcon,
  BranchIcon,
  ExternalIcon,
  FileZipIcon,
  KeyIcon,
  LockIcon,
  MailIcon,
  ServerIcon,
  UsersIcon,
} from '../components/icons';
import { PageHeader } from '../components/PageHeader';
import { useMe } from '../session/SessionContext';
import { GitSection } from './settings/GitSection';
import { HostsSection } from './settings/HostsSection';
import { ImportsSection } from './settings/ImportsSection';
import { OutboundSection } from './settings/OutboundSection';
import { PasswordSection } from './settings/PasswordSection';
import { ReconcileSection } from './settings/ReconcileSection';
import { TokensSection } from './settings/TokensSection';
import { UsersSection } from './settings/UsersSection';

// Opened once in a while, by platform admins only: in its own chunk.
const SmtpSection = lazy(async () => ({ default: (await import('./settings/SmtpSection')).SmtpSection }));
const OidcProvidersSection = lazy(async () => ({
  default: (await import('./oidc/OidcProvidersSection')).OidcProvidersSection,
}));
const PlansSection = lazy(async () => ({ default: (await import('./plans/PlansSection')).PlansSection }));
const MailTemplatesSection = lazy(async () => ({
  default: (await import('./mail-templates/MailTemplatesSection')).MailTemplatesSection,
}));

const allTabs = [
  { id: 'tokens', label: 'API tokens', icon: <KeyIcon />, adminOnly: false },
  { id: 'password', label: 'Password', icon: <LockIcon />, adminOnly: false },
  { id: 'hosts', label: 'Hosts', icon: <ServerIcon />, adminOnly: true },
  { id: 'email', label: 'Email', icon: <MailIcon />, adminOnly: true },
  { id: 'emails', label: 'Emails sent', icon: <MailIcon />, adminOnly: true },
  { id: 'git', label: 'Git', icon: <BranchIcon />, adminOnly: true },
  { id: 'imports', label: 'Imports', icon: <FileZipIcon />, adminOnly: true },
  { id: 'outbound', label: 'Outbound', icon: <ExternalIcon />, adminOnly: true },
  { id: 'plans', label: 'Plans', icon: <FileZipIcon />, adminOnly: true },
  { id: 'sign-in', label: 'Sign-in providers', icon: <KeyIcon />, adminOnly: true },
  { id: 'users', label: 'Users', icon: <UsersIcon />, adminOnly: true },
] as const;
type TabId = (typeof allTabs)[number]['id'];

export function SettingsPage() {
  const me = useMe();
  const tabs = allTabs.filter((t) => !t.adminOnly || me.user.isPlatformAdmin);
  const [params, setParams] = useSearchParams();
  const [tab, setTab] = useState<TabId>(tabs.find((t) => t.id === params.get('tab'))?.id ?? 'tokens');

  function choose(id: TabId) {
    setTab(id);
    setParams(id === 'tokens' ? {} : { tab: id }, { replace: true });
  }

  return (
    <>
      <PageHeader
        title="Settings"
        subtitle={
          me.user.isPlatformAdmin
            ? 'Your account: API tokens for scripts and the CLI, your password — and the Docker hosts, the email server and the git settings of this Marina.'
            : 'Your account: API tokens for scripts and the CLI, and your password.'
        }
        actions={
          <a className="btn btn-secondary" href="/api/docs" target="_blank" rel="noreferrer">
            <BookIcon />
            API documentation
            <ExternalIcon width={14} height={14} />
          </a>
        }
      />
      <div className="tabs" role="tablist" aria-label="Settings sections">
        {tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            className={tab === t.id ? 'tab active' : 'tab'}
            onClick={() => choose(t.id)}
          >
            {t.icon}
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'tokens' ? <TokensSection /> : null}
        {tab === 'password' ? <PasswordSection /> : null}
        {tab === 'hosts' ? (
          <div className="card-stack">
            <HostsSection />
            <ReconcileSection />
          </div>
        ) : null}
        {tab === 'email' ? (
          <Suspense fallback={<Loading />}>
            <SmtpSection />
          </Suspense>
        ) : null}
        {tab === 'emails' ? (
          <Suspense fallback={<Loading />}>
            <MailTemplatesSection />
          </Suspense>
        ) : null}
        {tab === 'git' ? <GitSection /> : null}
        {tab === 'imports' ? <ImportsSection /> : null}
        {tab === 'outbound' ? <OutboundSection /> : null}
        {tab === 'plans' ? (
          <Suspense fallback={<Loading />}>
            <PlansSection />
          </Suspense>
        ) : null}
        {tab === 'sign-in' ? (
          <Suspense fallback={<Loading />}>
            <OidcProvidersSection />
          </Suspense>
        ) : null}
        {tab === 'users' ? <UsersSection /> : null}
      </div>
    </>
  );
}
