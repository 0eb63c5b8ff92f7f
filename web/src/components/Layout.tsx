import { useEffect, useState } from 'react';
import { NavLink, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import { ImpersonationBanner, SuspendedBanner } from '../portal/Banners';
import { type MyOrganization, rememberOrganization, useCurrentOrganization } from '../portal/current-organization';
import { can, isOperator } from '../session/permissions';
import { type Me, useMe, useSession } from '../session/SessionContext';
import { Badge } from './Badge';
import {
  ActivityIcon,
  ArchiveIcon,
  BellIcon,
  BookIcon,
  BuildingIcon,
  CloudIcon,
  GearIcon,
  KeyIcon,
  LogoutIcon,
  NodesIcon,
  ReceiptIcon,
  ServerIcon,
  ShieldIcon,
  TerminalIcon,
  UsersIcon,
} from './icons';
import { Wordmark } from './Logo';
import { useToast } from './Toast';

const operations = [
  { to: '/instances', label: 'Instances', icon: <ServerIcon /> },
  { to: '/jobs', label: 'Jobs', icon: <ActivityIcon /> },
  { to: '/backups', label: 'Backups', icon: <ArchiveIcon /> },
  { to: '/destinations', label: 'Destinations', icon: <CloudIcon /> },
  { to: '/logs', label: 'Logs', icon: <TerminalIcon /> },
  { to: '/nodes', label: 'Nodes', icon: <NodesIcon /> },
];

const administration = [
  { to: '/organizations', label: 'Organizations', icon: <BuildingIcon /> },
  { to: '/customers', label: 'Customers', icon: <UsersIcon /> },
  { to: '/billing', label: 'Billing', icon: <ReceiptIcon /> },
  { to: '/audit', label: 'Audit log', icon: <ShieldIcon /> },
  { to: '/settings', label: 'Settings', icon: <GearIcon /> },
];

interface NavEntry {
  to: string;
  label: string;
  icon: React.ReactNode;
  soon?: boolean;
  /** Only the address itself is "active", not the pages under it (Projects vs Team). */
  end?: boolean;
}

function NavItem({ to, label, icon, soon, end }: NavEntry) {
  return (
    <li>
      <NavLink
        to={to}
        end={end}
        className={({ isActive }) => (isActive ? 'nav-link active' : 'nav-link')}
        title={label}
      >
        {icon}
        <span className="nav-label">{label}</span>
        {soon ? <span className="nav-soon">Soon</span> : null}
      </NavLink>
    </li>
  );
}

const NAVIGATION_ID = 'main-navigation';

/**
 * A customer's sidebar: their organization's pages only, each shown when the role may open it
 * (src/platform/permissions.ts through `/me`). Nothing of the operator's (hosts, reconciliation,
 * the platform's destinations, Marina's log, settings, other customers).
 */
function portalNavigation(me: Me, org: MyOrganization | null): NavEntry[] {
  const items: NavEntry[] = [];
  if (org) {
    const home = `/organizations/${org.slug}`;
    items.push({ to: home, label: 'Projects', icon: <BuildingIcon />, end: true });
    if (can(me, org.id, 'backup.view')) {
      items.push({ to: `/backups?organization=${org.id}`, label: 'Backups', icon: <ArchiveIcon /> });
    }
    if (can(me, org.id, 'team.view')) items.push({ to: `${home}/team`, label: 'Team', icon: <UsersIcon /> });
    // Every member sees the incidents; owners and admins also the channels and rules there.
    if (can(me, org.id, 'instance.view')) items.push({ to: `${home}/alerts`, label: 'Alerts', icon: <BellIcon /> });
    if (can(me, org.id, 'audit.view')) {
      items.push({ to: '/audit', label: 'Audit', icon: <ShieldIcon /> });
    }
  }
  items.push({ to: '/account', label: 'Account', icon: <KeyIcon /> });
  if (org && can(me, org.id, 'billing.manage')) {
    items.push({ to: `/organizations/${org.slug}/billing`, label: 'Billing', icon: <ReceiptIcon /> });
  }
  return items;
}

/** A member of several organizations picks the one the portal shows; a support session has one. */
function OrganizationSwitch({ me, current }: { me: Me; current: MyOrganization | null }) {
  const navigate = useNavigate();
  if (!current) return null;
  if (me.impersonating || me.organizations.length < 2) {
    return (
      <span className="org-current" data-testid="current-organization">
        {current.name}
      </span>
    );
  }
  return (
    <label className="org-switcher">
      <span className="org-switcher-label">Organization</span>
      <select
        value={current.slug}
        onChange={(event) => {
          rememberOrganization(event.target.value);
          navigate(`/organizations/${event.target.value}`);
        }}
      >
        {me.organizations.map((o) => (
          <option key={o.id} value={o.slug}>
            {o.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function PortalNav({ me, current }: { me: Me; current: MyOrganization | null }) {
  return (
    <nav aria-label="Main" data-sidebar="portal">
      <OrganizationSwitch me={me} current={current} />
      <ul>
        {portalNavigation(me, current).map((item) => (
          <NavItem key={item.label} {...item} />
        ))}
      </ul>
    </nav>
  );
}

/** On a wide screen a sidebar (an icon rail when narrower); on a phone a drawer the Menu button opens. */
function Sidebar({ open }: { open: boolean }) {
  const me = useMe();
  const current = useCurrentOrganization(me);
  return (
    <aside className={open ? 'sidebar sidebar-open' : 'sidebar'} id={NAVIGATION_ID}>
      <div className="sidebar-brand">
        <Wordmark inverted />
      </div>
      {isOperator(me) ? <OperatorNav /> : <PortalNav me={me} current={current} />}
      <a className="sidebar-footer" href="/api/docs" target="_blank" rel="noreferrer">
        <BookIcon />
        <span className="nav-label">API documentation</span>
      </a>
    </aside>
  );
}

/** The operator's sidebar: everything Marina runs. */
function OperatorNav() {
  return (
    <nav aria-label="Main" data-sidebar="operator">
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
  );
}

/** The banners of the organization the portal shows: support's view, a suspension. */
function PortalBanners() {
  const me = useMe();
  const current = useCurrentOrganization(me);
  if (isOperator(me)) return null;
  return (
    <>
      <ImpersonationBanner />
      {current ? <SuspendedBanner organizationId={current.id} /> : null}
    </>
  );
}

function initials(name: string, email: string): string {
  const words = (name || email).split(/[\s@._-]+/).filter(Boolean);
  return ((words[0]?.[0] ?? '') + (words[1]?.[0] ?? '')).toUpperCase() || '?';
}

/** Three lines: the phone's usual sign for "the navigation is in here". */
function MenuIcon() {
  return (
    <svg
      viewBox="0 0 24 24"
      width="22"
      height="22"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      aria-hidden="true"
    >
      <path d="M4 6h16M4 12h16M4 18h16" strokeLinecap="round" />
    </svg>
  );
}

function Topbar({ menuOpen, onMenu }: { menuOpen: boolean; onMenu(): void }) {
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
      <button
        type="button"
        className="btn btn-ghost menu-button"
        aria-label="Menu"
        aria-expanded={menuOpen}
        aria-controls={NAVIGATION_ID}
        onClick={onMenu}
      >
        <MenuIcon />
      </button>
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
  const [menuOpen, setMenuOpen] = useState(false);
  const { pathname, search } = useLocation();

  // Following a link of the drawer (or any other) closes it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the address changing is the trigger.
  useEffect(() => setMenuOpen(false), [pathname, search]);

  useEffect(() => {
    if (!menuOpen) return;
    const closeOnEscape = (event: KeyboardEvent) => {
      if (event.key === 'Escape') setMenuOpen(false);
    };
    window.addEventListener('keydown', closeOnEscape);
    return () => window.removeEventListener('keydown', closeOnEscape);
  }, [menuOpen]);

  return (
    <div className={menuOpen ? 'shell shell-menu-open' : 'shell'}>
      <Sidebar open={menuOpen} />
      {menuOpen ? <div className="nav-backdrop" aria-hidden="true" onClick={() => setMenuOpen(false)} /> : null}
      <div className="shell-main">
        <Topbar menuOpen={menuOpen} onMenu={() => setMenuOpen((open) => !open)} />
        <main className="content">
          <PortalBanners />
          <Outlet />
        </main>
      </div>
    </div>
  );
}
