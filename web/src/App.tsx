import { QueryClientProvider } from '@tanstack/react-query';
import { lazy, type ReactNode, Suspense, useState } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useParams } from 'react-router-dom';
import { createQueryClient } from './api/queryClient';
import { Loading } from './components/EmptyState';
import { Layout } from './components/Layout';
import { RedirectIfSignedIn, RequireSession } from './components/RouteGuards';
import { ToastProvider } from './components/Toast';
import { BackupsPage } from './pages/backups/BackupsPage';
import { ClonePage } from './pages/backups/ClonePage';
import { ImportPage } from './pages/backups/ImportPage';
import { InstancePage } from './pages/InstancePage';
import { InstancesPage } from './pages/InstancesPage';
import { InvitePage } from './pages/InvitePage';
import { JobPage } from './pages/JobPage';
import { JobsPage } from './pages/JobsPage';
import { LoginPage } from './pages/LoginPage';
import { InstanceLogsPage, LogsPage, SystemLogPage } from './pages/LogsPages';
import { NewInstancePage } from './pages/NewInstancePage';
import { NotFoundPage } from './pages/NotFoundPage';
import { OrganizationPage } from './pages/OrganizationPage';
import { OrganizationsPage } from './pages/OrganizationsPage';
import { ProjectPage } from './pages/ProjectPage';
import { ResetPage } from './pages/ResetPage';
import { SetupPage } from './pages/SetupPage';
import { Home } from './portal/Home';
import { SessionProvider } from './session/SessionContext';

// Pages few people open every day come in their own chunk.
const DestinationsPage = lazy(async () => ({
  default: (await import('./pages/offsite/DestinationsPage')).DestinationsPage,
}));
const HistoryPage = lazy(async () => ({ default: (await import('./pages/offsite/HistoryPage')).HistoryPage }));
const AuditPage = lazy(async () => ({ default: (await import('./pages/AuditPage')).AuditPage }));
// The cluster's hosts (platform admins).
const NodesPage = lazy(async () => ({ default: (await import('./pages/nodes/NodesPage')).NodesPage }));
const SettingsPage = lazy(async () => ({ default: (await import('./pages/SettingsPage')).SettingsPage }));
// The customer's portal pages (web/src/pages/{team,account,billing}).
const TeamPage = lazy(async () => ({ default: (await import('./pages/team/TeamPage')).TeamPage }));
const AccountPage = lazy(async () => ({ default: (await import('./pages/account/AccountPage')).AccountPage }));
const BillingPage = lazy(async () => ({ default: (await import('./pages/billing/BillingPage')).BillingPage }));
const AlertsPage = lazy(async () => ({ default: (await import('./pages/alerts/AlertsPage')).AlertsPage }));
const CustomersPage = lazy(async () => ({
  default: (await import('./pages/customers/CustomersPage')).CustomersPage,
}));
// The platform admin's books (issue #20): its charts and forms in their own chunk.
const AdminBillingPage = lazy(async () => ({
  default: (await import('./pages/billing/admin/AdminBillingPage')).AdminBillingPage,
}));
// The sign-up pages: strangers' first visit, in their own chunk.
const SignupPage = lazy(async () => ({ default: (await import('./pages/signup/SignupPage')).SignupPage }));
const SignupSentPage = lazy(async () => ({ default: (await import('./pages/signup/SentPage')).SentPage }));
const SignupVerifyPage = lazy(async () => ({ default: (await import('./pages/signup/VerifyPage')).VerifyPage }));
const SignupWelcomePage = lazy(async () => ({ default: (await import('./pages/signup/WelcomePage')).WelcomePage }));

// A credentials link's page: signs in first when needed, then shows the credentials once.
const CredentialsLinkPage = lazy(async () => ({
  default: (await import('./pages/credentials/CredentialsLinkPage')).CredentialsLinkPage,
}));

function Later({ page }: { page: ReactNode }) {
  return <Suspense fallback={<Loading />}>{page}</Suspense>;
}

/** The address backup-failure emails link to: the instance's Backups tab. */
function InstanceBackupsRedirect() {
  const { id = '' } = useParams();
  return <Navigate to={`/instances/${id}?tab=backups`} replace />;
}

export function App() {
  const [queryClient] = useState(createQueryClient);
  return (
    <QueryClientProvider client={queryClient}>
      <ToastProvider>
        <SessionProvider>
          <BrowserRouter>
            <Routes>
              <Route path="/setup" element={<SetupPage />} />
              <Route path="/invite" element={<InvitePage />} />
              <Route path="/reset" element={<ResetPage />} />
              <Route path="/signup" element={<Later page={<SignupPage />} />} />
              <Route path="/credentials" element={<Later page={<CredentialsLinkPage />} />} />
              <Route path="/signup/sent" element={<Later page={<SignupSentPage />} />} />
              <Route path="/signup/verify" element={<Later page={<SignupVerifyPage />} />} />
              <Route
                path="/signup/welcome"
                element={
                  <RequireSession>
                    <Later page={<SignupWelcomePage />} />
                  </RequireSession>
                }
              />
              <Route
                path="/login"
                element={
                  <RedirectIfSignedIn>
                    <LoginPage />
                  </RedirectIfSignedIn>
                }
              />
              <Route
                element={
                  <RequireSession>
                    <Layout />
                  </RequireSession>
                }
              >
                <Route index element={<Home />} />
                <Route path="instances" element={<InstancesPage />} />
                <Route path="instances/new" element={<NewInstancePage />} />
                <Route path="instances/:id" element={<InstancePage />} />
                <Route path="instances/:id/logs" element={<InstanceLogsPage />} />
                <Route path="instances/:id/backups" element={<InstanceBackupsRedirect />} />
                <Route path="instances/:id/clone" element={<ClonePage />} />
                <Route path="clone" element={<ClonePage />} />
                <Route path="jobs" element={<JobsPage />} />
                <Route path="jobs/:id" element={<JobPage />} />
                <Route path="backups" element={<BackupsPage />} />
                <Route path="backups/history" element={<Later page={<HistoryPage />} />} />
                <Route path="destinations" element={<Later page={<DestinationsPage />} />} />
                <Route path="imports/new" element={<ImportPage />} />
                <Route path="logs" element={<LogsPage />} />
                <Route path="logs/marina" element={<SystemLogPage />} />
                <Route path="nodes" element={<Later page={<NodesPage />} />} />
                <Route path="organizations" element={<OrganizationsPage />} />
                <Route path="organizations/:slug" element={<OrganizationPage />} />
                <Route path="organizations/:slug/team" element={<Later page={<TeamPage />} />} />
                <Route path="organizations/:slug/billing" element={<Later page={<BillingPage />} />} />
                <Route path="organizations/:slug/alerts" element={<Later page={<AlertsPage />} />} />
                <Route path="account" element={<Later page={<AccountPage />} />} />
                <Route path="projects/:id" element={<ProjectPage />} />
                <Route path="organizations/:slug/destinations" element={<Later page={<DestinationsPage />} />} />
                <Route path="audit" element={<Later page={<AuditPage />} />} />
                <Route path="settings" element={<Later page={<SettingsPage />} />} />
                <Route path="customers" element={<Later page={<CustomersPage />} />} />
                <Route path="billing" element={<Later page={<AdminBillingPage />} />} />
                <Route path="*" element={<NotFoundPage />} />
              </Route>
            </Routes>
          </BrowserRouter>
        </SessionProvider>
      </ToastProvider>
    </QueryClientProvider>
  );
}
