import { useEffect, useRef, useState } from 'react';
import { Link, useLocation, useSearchParams } from 'react-router-dom';
import { ApiError, errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { CopyField } from '../../components/CopyField';
import { CheckIcon, ExternalIcon } from '../../components/icons';
import { JobSteps } from '../../components/JobParts';
import { ProgressBar } from '../../components/ProgressBar';
import { useJobStream } from '../../live';
import { stepLabel } from '../../operate';
import { type OpenedCredentials, request } from './api';
import { SignupLayout } from './SignupLayout';

/** Credential links this tab opened: a link opens once, and React's strict mode runs effects twice. */
const opened = new Map<string, Promise<OpenedCredentials>>();

function openOnce(token: string): Promise<OpenedCredentials> {
  let pending = opened.get(token);
  if (!pending) {
    pending = request<OpenedCredentials>('POST', '/credential-links/open', { token });
    opened.set(token, pending);
  }
  return pending;
}

function credentialsTokenFrom(hash: string): string | null {
  const value = new URLSearchParams(hash.replace(/^#/, '')).get('credentials');
  return value ? value : null;
}

/**
 * `/signup/welcome?instance=…&job=…#credentials=…`: where a verified sign-up lands. Follows the
 * provisioning job live, then opens the credential link once and shows the Odoo administrator's
 * login and password.
 */
export function WelcomePage() {
  const [params] = useSearchParams();
  const instanceId = params.get('instance') ?? '';
  const jobId = params.get('job');
  const token = credentialsTokenFrom(useLocation().hash);
  const { job } = useJobStream(jobId);
  const succeeded = job?.status === 'succeeded';
  const failed = job?.status === 'failed' || job?.status === 'cancelled';

  return (
    <SignupLayout
      wide
      title={succeeded ? 'Your Odoo is ready' : failed ? 'Something went wrong' : 'Creating your Odoo…'}
      subtitle={
        succeeded
          ? 'Sign in to Odoo with the administrator account below.'
          : failed
            ? 'Your account and organization are ready, but your Odoo is not.'
            : 'This takes a minute or two. You can keep this page open — it updates by itself.'
      }
    >
      <div className="signup-welcome" data-testid="signup-welcome" data-job-status={job?.status ?? 'loading'}>
        {job ? (
          <>
            <div className="signup-progress-head">
              <span aria-live="polite">
                {succeeded
                  ? 'Done'
                  : failed
                    ? 'Stopped'
                    : job.status === 'queued'
                      ? 'Waiting for a free slot…'
                      : job.step
                        ? `${stepLabel(job.step, job.kind)}…`
                        : 'Starting…'}
              </span>
              <span className="tabular">{job.progress} %</span>
            </div>
            <ProgressBar
              value={job.progress}
              label="Provisioning progress"
              size="large"
              tone={succeeded ? 'green' : failed ? 'red' : 'brand'}
              active={!succeeded && !failed}
              testId="job-progress"
            />
            {!succeeded && !failed ? <JobSteps job={job} /> : null}
          </>
        ) : (
          <ProgressBar value={0} label="Provisioning progress" size="large" active testId="job-progress" />
        )}
        {failed ? (
          <Alert kind="error" title="Your Odoo could not be created">
            The failure is recorded for the operator of this service, who can start it again from there.
          </Alert>
        ) : null}
        {failed ? (
          <div className="form-actions form-actions-start">
            <Link className="btn btn-primary" to={`/instances/${instanceId}`}>
              Go to your instance page
            </Link>
          </div>
        ) : null}
        {succeeded ? <Credentials token={token} instanceId={instanceId} /> : null}
      </div>
    </SignupLayout>
  );
}

function Credentials({ token, instanceId }: { token: string | null; instanceId: string }) {
  const [credentials, setCredentials] = useState<OpenedCredentials | null>(null);
  const [error, setError] = useState<unknown>(null);
  const started = useRef(false);

  useEffect(() => {
    if (!token || started.current) return;
    started.current = true;
    openOnce(token)
      .then((answer) => {
        setCredentials(answer);
        // The link is spent; it leaves the address bar and the history.
        window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
      })
      .catch(setError);
  }, [token]);

  const instancePage = (
    <Link className="btn btn-primary" to={`/instances/${credentials?.instance.id ?? instanceId}`}>
      Go to your instance page
    </Link>
  );
  if (!token || (error instanceof ApiError && error.code === 'MARINA_E_INVALID_TOKEN')) {
    return (
      <>
        <Alert kind="info">
          The password was shown once already. The welcome mail has a link that shows it one more time; an administrator
          of your organization can also reveal it on the instance page.
        </Alert>
        <div className="form-actions form-actions-start">{instancePage}</div>
      </>
    );
  }
  if (error) return <Alert kind="error">{errorMessage(error)}</Alert>;
  if (!credentials) return <p className="muted">Fetching your sign-in details…</p>;
  return (
    <section className="signup-credentials" aria-label="Your Odoo sign-in" data-testid="signup-credentials">
      <p className="signup-ready">
        <span className="signup-ready-icon" aria-hidden="true">
          <CheckIcon width={18} height={18} />
        </span>
        {credentials.instance.url ? (
          <a href={credentials.instance.url} target="_blank" rel="noreferrer" data-testid="instance-url">
            {credentials.instance.url}
            <ExternalIcon width={14} height={14} />
          </a>
        ) : (
          credentials.instance.name
        )}
      </p>
      {credentials.instance.url ? (
        <div className="field">
          <span className="stat-label">Address</span>
          <CopyField label="Address" value={credentials.instance.url} />
        </div>
      ) : null}
      <div className="field">
        <span className="stat-label">Login</span>
        <CopyField label="Login" value={credentials.login} />
      </div>
      <div className="field">
        <span className="stat-label">Password</span>
        <CopyField label="Password" value={credentials.password} />
      </div>
      <Alert kind="warning">Shown once — also mailed to you as a link that works one time.</Alert>
      <div className="form-actions form-actions-start">
        {instancePage}
        {credentials.instance.url ? (
          <a className="btn btn-secondary" href={credentials.instance.url} target="_blank" rel="noreferrer">
            Open Odoo
          </a>
        ) : null}
      </div>
    </section>
  );
}
