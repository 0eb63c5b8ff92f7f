import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import { jobQuery } from '../api/queries';
import type { Job, JobLogLine } from '../api/types';
import { Alert } from '../components/Alert';
import { Loading } from '../components/EmptyState';
import { ArrowLeftIcon } from '../components/icons';
import { JobError, JobLog, JobSteps } from '../components/JobParts';
import { PageHeader } from '../components/PageHeader';
import { ProgressBar } from '../components/ProgressBar';
import { JobStatusBadge } from '../components/StatusBadges';
import { formatDateTime, formatRelative } from '../format';
import { useJobStream, useNow } from '../live';
import { isJobFinished, jobDuration, jobKindLabel, stepLabel } from '../operate';

function JobDetail({ initial }: { initial: { job: Job; logs: JobLogLine[] } }) {
  const stream = useJobStream(initial.job.id, initial);
  const now = useNow(1000);
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
          </>
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
