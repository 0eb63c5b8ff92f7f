import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import { jobQuery } from '../api/queries';
import type { Job, JobLogLine } from '../api/types';
import { Alert } from '../components/Alert';
import { Loading } from '../components/EmptyState';
import { ArrowLeftIcon } from '../components/icons';
import { JobControls, JobError, JobLog, JobSteps, waitingText } from '../components/JobParts';
import { PageHeader } from '../components/PageHeader';
import { ProgressBar } from '../components/ProgressBar';
import { JobStatusBadge } from '../components/StatusBadges';
import { useToast } from '../components/Toast';
import { formatDateTime, formatRelative } from '../format';
import { useJobStream, useNow } from '../live';
import { isJobFinished, jobDuration, jobKindLabel, stepLabel } from '../operate';

function JobDetail({ initial }: { initial: { job: Job; logs: JobLogLine[] } }) {
  const stream = useJobStream(initial.job.id, initial);
  const now = useNow(1000);
  const navigate = useNavigate();
  const toast = useToast();
  const job = stream.job ?? initial.job;
  const finished = isJobFinished(job.status);
  const duration = jobDuration(job, now);
  const tone =
    job.status === 'succeeded'
      ? 'green'
      : job.status === 'failed'
        ? 'red'
        : job.status === 'cancelled'
          ? 'amber'
          : 'brand';

  return (
    <>
      <PageHeader
        title={
          <span className="title-with-badge">
            {jobKindLabel(job.kind)}
            {job.target?.label ? <span className="title-target mono">{job.target.label}</span> : null}
            <JobStatusBadge status={job.status} />
          </span>
        }
        subtitle={
          <>
            By {job.actor.label} · created{' '}
            <span title={formatDateTime(job.createdAt)}>{formatRelative(job.createdAt)}</span>
            {duration ? ` · ${finished ? 'took' : 'running for'} ${duration}` : ''}
            {job.target?.type === 'instance' && job.kind !== 'instance.delete' ? (
              <>
                {' · '}
                <Link to={`/instances/${job.target.id}`}>Open the instance</Link>
              </>
            ) : null}
            {job.retryOf ? (
              <>
                {' · '}
                <Link to={`/jobs/${job.retryOf}`}>Retry of an earlier job</Link>
              </>
            ) : null}
          </>
        }
        actions={
          <JobControls
            job={job}
            onChanged={(changed, how) => {
              if (how === 'retried') {
                toast.success(`${jobKindLabel(changed.kind)} queued again.`);
                navigate(`/jobs/${changed.id}`);
              } else toast.success(`${jobKindLabel(changed.kind)} was cancelled.`);
            }}
          />
        }
      />
      <section className="card card-body job-card">
        <div className="job-progress-head">
          <span>
            {finished
              ? job.status === 'succeeded'
                ? 'Finished'
                : job.status === 'failed'
                  ? 'Failed'
                  : 'Cancelled'
              : job.status === 'queued'
                ? 'Waiting for a free slot…'
                : job.waitingUntil
                  ? waitingText(job)
                  : job.step
                    ? stepLabel(job.step, job.kind)
                    : 'Starting…'}
          </span>
          <span className="tabular">{job.progress} %</span>
        </div>
        <ProgressBar
          value={job.progress}
          label="Job progress"
          size="large"
          tone={tone}
          active={!finished}
          testId="job-progress"
        />
        <JobError job={job} />
        <JobSteps job={job} timing />
      </section>
      <section className="card card-body">
        <JobLog logs={stream.logs} open title={finished ? 'Log' : 'Live log'} />
      </section>
    </>
  );
}

export function JobPage() {
  const { id = '' } = useParams();
  const loaded = useQuery(jobQuery(id));
  return (
    <>
      <Link className="back-link" to="/jobs">
        <ArrowLeftIcon />
        Jobs
      </Link>
      {loaded.error ? <Alert kind="error">{errorMessage(loaded.error)}</Alert> : null}
      {!loaded.data && !loaded.error ? <Loading /> : null}
      {loaded.data ? <JobDetail key={loaded.data.job.id} initial={loaded.data} /> : null}
    </>
  );
}
