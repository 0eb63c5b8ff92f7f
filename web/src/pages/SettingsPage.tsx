import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { BookIcon, ExternalIcon, KeyIcon, LockIcon } from '../components/icons';
import { PageHeader } from '../components/PageHeader';
import { PasswordSection } from './settings/PasswordSection';
import { TokensSection } from './settings/TokensSection';

const tabs = [
  { id: 'tokens', label: 'API tokens', icon: <KeyIcon /> },
  { id: 'password', label: 'Password', icon: <LockIcon /> },
] as const;
type TabId = (typeof tabs)[number]['id'];

export function SettingsPage() {
  const [params, setParams] = useSearchParams();
  const [tab, setTab] = useState<TabId>(params.get('tab') === 'password' ? 'password' : 'tokens');

  function choose(id: TabId) {
    setTab(id);
    setParams(id === 'tokens' ? {} : { tab: id }, { replace: true });
  }

  return (
    <>
      <PageHeader
        title="Settings"
        subtitle="Your account: API tokens for scripts and the CLI, and your password."
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
        {tab === 'tokens' ? <TokensSection /> : <PasswordSection />}
      </div>
    </>
  );
}
