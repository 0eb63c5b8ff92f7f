import { lazy, Suspense, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Loading } from '../components/EmptyState';
import {
  BookIcon,
  BranchIcon,
  DatabaseIcon,
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
import '../styles/settings.css';
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
const TemplatesSection = lazy(async () => ({
  default: (await import('./templates/TemplatesSection')).TemplatesSection,
}));
const SignupSettings = lazy(async () => ({ default: (await import('./signup/SignupSettings')).SignupSettings }));
const LifecycleSection = lazy(async () => ({
  default: (await import('./customers/LifecycleSection')).LifecycleSection,
}));
const DatabaseTemplatesSection = lazy(async () => ({
  default: (await import('./database-templates/DatabaseTemplatesSection')).DatabaseTemplatesSection,
}));
const MailTemplatesSection = lazy(async () => ({
  default: (await import('./mail-templates/MailTemplatesSection')).MailTemplatesSection,
}));

/**
 * Every section of Settings, in the order shown; `group` puts it under a heading of the side list
 * (the one list: adding a section is one entry here and one line in the panel below).
 */
const allTabs = [
  { id: 'tokens', label: 'API tokens', icon: <KeyIcon />, adminOnly: false, group: 'you' },
  { id: 'password', label: 'Password', icon: <LockIcon />, adminOnly: false, group: 'you' },
  { id: 'hosts', label: 'Hosts', icon: <ServerIcon />, adminOnly: true, group: 'platform' },
  {
    id: 'database-templates',
    label: 'Template databases',
    icon: <DatabaseIcon />,
    adminOnly: true,
    group: 'platform',
  },
  { id: 'email', label: 'Email', icon: <MailIcon />, adminOnly: true, group: 'platform' },
  { id: 'emails', label: 'Emails sent', icon: <MailIcon />, adminOnly: true, group: 'platform' },
  { id: 'git', label: 'Git', icon: <BranchIcon />, adminOnly: true, group: 'platform' },
  { id: 'imports', label: 'Imports', icon: <FileZipIcon />, adminOnly: true, group: 'platform' },
  { id: 'outbound', label: 'Outbound', icon: <ExternalIcon />, adminOnly: true, group: 'platform' },
  { id: 'plans', label: 'Plans', icon: <FileZipIcon />, adminOnly: true, group: 'customers' },
  { id: 'templates', label: 'Templates', icon: <FileZipIcon />, adminOnly: true, group: 'customers' },
  { id: 'sign-up', label: 'Sign-up', icon: <UsersIcon />, adminOnly: true, group: 'customers' },
  { id: 'sign-in', label: 'Sign-in providers', icon: <KeyIcon />, adminOnly: true, group: 'customers' },
  { id: 'lifecycle', label: 'Lifecycle', icon: <UsersIcon />, adminOnly: true, group: 'customers' },
  { id: 'users', label: 'Users', icon: <UsersIcon />, adminOnly: true, group: 'customers' },
] as const;
const groups = [
  { id: 'you', label: 'You' },
  { id: 'platform', label: 'Platform' },
  { id: 'customers', label: 'Customers' },
] as const satisfies readonly { id: (typeof allTabs)[number]['group']; label: string }[];
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
      <div className="settings-layout">
        {/* One tablist per group, each named by its heading: a vertical list that holds any number of sections. */}
        <nav className="settings-nav" aria-label="Settings sections">
          {groups.map((g) => {
            const inGroup = tabs.filter((t) => t.group === g.id);
            if (inGroup.length === 0) return null;
            return (
              <div key={g.id} className="settings-nav-group">
                <div className="settings-nav-heading" id={`settings-group-${g.id}`}>
                  {g.label}
                </div>
                <div role="tablist" aria-orientation="vertical" aria-labelledby={`settings-group-${g.id}`}>
                  {inGroup.map((t) => (
                    <button
                      key={t.id}
                      type="button"
                      role="tab"
                      id={`tab-${t.id}`}
                      aria-selected={tab === t.id}
                      aria-controls={`panel-${t.id}`}
                      className={tab === t.id ? 'settings-tab active' : 'settings-tab'}
                      onClick={() => choose(t.id)}
                    >
                      {t.icon}
                      {t.label}
                    </button>
                  ))}
                </div>
              </div>
            );
          })}
        </nav>
        <div className="settings-content">
          <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
            {tab === 'tokens' ? <TokensSection /> : null}
            {tab === 'password' ? <PasswordSection /> : null}
            {tab === 'hosts' ? (
              <div className="card-stack">
                <HostsSection />
                <ReconcileSection />
              </div>
            ) : null}
            {tab === 'database-templates' ? (
              <Suspense fallback={<Loading />}>
                <DatabaseTemplatesSection />
              </Suspense>
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
            {tab === 'templates' ? (
              <Suspense fallback={<Loading />}>
                <TemplatesSection />
              </Suspense>
            ) : null}
            {tab === 'sign-up' ? (
              <Suspense fallback={<Loading />}>
                <SignupSettings />
              </Suspense>
            ) : null}
            {tab === 'sign-in' ? (
              <Suspense fallback={<Loading />}>
                <OidcProvidersSection />
              </Suspense>
            ) : null}
            {tab === 'lifecycle' ? (
              <Suspense fallback={<Loading />}>
                <LifecycleSection onOpen={choose} />
              </Suspense>
            ) : null}
            {tab === 'users' ? <UsersSection /> : null}
          </div>
        </div>
      </div>
    </>
  );
}
