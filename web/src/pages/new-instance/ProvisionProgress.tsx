import { Link } from 'react-router-dom';
import type { Credentials, Instance, Job } from '../../api/types';
import { Alert } from '../../components/Alert';
import { CopyField } from '../../components/CopyField';
import { CheckIcon, ExternalIcon } from '../../components/icons';
import { JobError, JobLog, JobSteps } from '../../components/JobParts';
import { ProgressBar } from '../../components/ProgressBar';
import { useJobStream, useNow } from '../../live';
import { jobDuration, stepLabel } from '../../operate';

/** Step 3: the provisioning job, live, then the credentials to sign in with. */
export function ProvisionProgress({
  instance,
  job: initialJob,
  credentials,
}: {
  instance: Instance;
  job: Job;
  credentials: Credentials;
}) {
  const { job: streamed, logs } = useJobStream(initialJob.id, { job: initialJob });
  const now = useNow(1000);
  const job = streamed ?? initialJob;
  const succeeded = job.status === 'succeeded';
  const failed = job.status === 'failed' || job.status === 'cancelled';
  const index = job.steps.findIndex((s) => s.name === job.step);
  const duration = job.finishedAt ? jobDuration(job, now) : null;

  return (
    <div className="provision" data-testid="provisioning">
      <div className="provision-head">
        {succeeded ? (
          <div className="ready-title">
            <span className="ready-icon" aria-hidden="true">
              <CheckIcon width={22} height={22} />
            </span>
            <div>
              <h2>Ready</h2>
              <p className="muted">
                {instance.name} is running{duration && duration !== '0s' ? ` — provisioned in ${duration}` : ''}.
              </p>
            </div>
          </div>
        ) : (
          <div>
            <h2>{failed ? `Creating ${instance.name} failed` : `Creating ${instance.name}…`}</h2>
            <p className="muted" aria-live="polite">
              {failed
                ? 'Nothing more will happen; see the error below.'
                : job.status === 'queued'
                  ? 'Waiting for a free slot on the host…'
                  : job.step
                    ? `Step ${index + 1} of ${job.steps.length}: ${stepLabel(job.step, job.kind)}`
                    : 'Starting…'}
            </p>
          </div>
        )}
        <span className="provision-percent tabular">{job.progress} %</span>
      </div>
      <ProgressBar
        value={job.progress}
        label="Provisioning progress"
        size="large"
        tone={succeeded ? 'green' : failed ? 'red' : 'brand'}
        active={!succeeded && !failed}
        testId="job-progress"
      />
      {succeeded ? (
        <section className="ready-box" aria-label="Your new instance">
          <p className="ready-url">
            Open Odoo at{' '}
            {(credentials.url ?? instance.url) ? (
              <a
                href={credentials.url ?? instance.url ?? '#'}
                target="_blank"
                rel="noreferrer"
                data-testid="instance-url"
              >
                {credentials.url ?? instance.url}
                <ExternalIcon width={14} height={14} />
              </a>
            ) : (
              <span className="muted">(no address)</span>
            )}
          </p>
          <div className="form-grid">
            <div className="field">
              <span className="stat-label">Administrator login</span>
              <CopyField label="Administrator login" value={credentials.login} />
            </div>
            <div className="field">
              <span className="stat-label">Administrator password</span>
              <CopyField label="Administrator password" value={credentials.password} />
            </div>
          </div>
          <Alert kind="warning">
            The password is shown once here — copy it now. Organization admins can reveal it later from the instance
            page.
          </Alert>
          <div className="form-actions form-actions-start">
            <Link className="btn btn-primary" to={`/instances/${instance.id}`}>
              Open instance page
            </Link>
            <Link className="btn btn-secondary" to="/instances">
              Back to instances
            </Link>
          </div>
        </section>
      ) : null}
      {failed ? <JobError job={job} link /> : null}
      <div className="provision-body">
        <JobSteps job={job} timing />
        {!succeeded && !failed ? (
          <p className="field-hint">
            The administrator password appears here when the instance is ready. You may leave this page: the job goes
            on, and you can follow it under <Link to={`/jobs/${job.id}`}>Jobs</Link>.
          </p>
        ) : null}
      </div>
      <JobLog logs={logs} open={failed} />
    </div>
  );
}
