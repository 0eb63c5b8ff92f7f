import { useState } from 'react';
import { NavLink, Outlet, useNavigate } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import { useMe, useSession } from '../session/SessionContext';
import { Badge } from './Badge';
import {
  ActivityIcon,
  ArchiveIcon,
  BookIcon,
  BuildingIcon,
  CloudIcon,
  GearIcon,
  LogoutIcon,
  ServerIcon,
  ShieldIcon,
  TerminalIcon,
} from './icons';
import { Wordmark } from './Logo';
import { useToast } from './Toast';

const operations = [
  { to: '/instances', label: 'Instances', icon: <ServerIcon /> },
  { to: '/jobs', label: 'Jobs', icon: <ActivityIcon /> },
  { to: '/backups', label: 'Backups', icon: <ArchiveIcon /> },
  { to: '/destinations', label: 'Destinations', icon: <CloudIcon /> },
  { to: '/logs', label: 'Logs', icon: <TerminalIcon /> },
];

const administration = [
  { to: '/organizations', label: 'Organizations', icon: <BuildingIcon /> },
  { to: '/audit', label: 'Audit log', icon: <ShieldIcon /> },
  { to: '/settings', label: 'Settings', icon: <GearIcon /> },
];

function NavItem({ to, label, icon, soon }: { to: string; label: string; icon: React.ReactNode; soon?: boolean }) {
  return (
    <li>
      <NavLink to={to} className={({ isActive }) => (isActive ? 'nav-link active' : 'nav-link')} title={label}>
        {icon}
        <span className="nav-label">{label}</span>
        {soon ? <span className="nav-soon">Soon</span> : null}
      </NavLink>
    </li>
  );
}

function Sidebar() {
  return (
    <aside className="sidebar">
      <div className="sidebar-brand">
        <Wordmark inverted />
      </div>
      <nav aria-label="Main">
        <p className="nav-section">Operate</p>
        <ul>
          {operations.map((item) => (
            <NavItem key={item.to} {...item} />
          ))}
        </ul>
        <p className="nav-section">Manage</p>
        <ul>
          {administration.map((item) => (
            <NavItem key={item.to} {...item} />
          ))}
        </ul>
      </nav>
      <a className="sidebar-footer" href="/api/docs" target="_blank" rel="noreferrer">
        <BookIcon />
        <span className="nav-label">API documentation</span>
      </a>
    </aside>
  );
}

function initials(name: string, email: string): string {
  const words = (name || email).split(/[\s@._-]+/).filter(Boolean);
  return ((words[0]?.[0] ?? '') + (words[1]?.[0] ?? '')).toUpperCase() || '?';
}

function Topbar() {
  const me = useMe();
  const { signOut } = useSession();
  const toast = useToast();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);

  async function handleSignOut() {
    setBusy(true);
    try {
      await signOut();
      navigate('/login', { replace: true });
    } catch (error) {
      toast.error(errorMessage(error));
      setBusy(false);
    }
  }

  return (
    <header className="topbar">
      <div className="topbar-spacer" />
      <div className="topbar-user" data-testid="current-user">
        <span className="avatar" aria-hidden="true">
          {initials(me.user.name, me.user.email)}
        </span>
        <span className="topbar-identity">
          <span className="topbar-name">
            {me.user.name || me.user.email}
            {me.user.isPlatformAdmin ? <Badge tone="teal">platform admin</Badge> : null}
          </span>
          <span className="topbar-email">{me.user.email}</span>
        </span>
        <button type="button" className="btn btn-ghost" onClick={handleSignOut} disabled={busy}>
          <LogoutIcon />
          Sign out
        </button>
      </div>
    </header>
  );
}

export function Layout() {
  return (
    <div className="shell">
      <Sidebar />
      <div className="shell-main">
        <Topbar />
        <main className="content">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
