import { type DragEvent, type FormEvent, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { ApiError, errorMessage } from '../../api/errors';
import type { Backup, Instance, Job } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/EmptyState';
import { FormError } from '../../components/FormError';
import { ArrowLeftIcon, FileZipIcon, UploadIcon } from '../../components/icons';
import { JobProgress } from '../../components/JobProgress';
import { PageHeader } from '../../components/PageHeader';
import { ProgressBar } from '../../components/ProgressBar';
import { useToast } from '../../components/Toast';
import { formatBytes } from '../../operate';
import { useMe } from '../../session/SessionContext';
import { type Upload, type UploadProgress, uploadFile } from '../../upload';
import { type BackupFileSummary, inspectBackupFile, manifestVersion, NotABackupError } from '../../zip';
import { useAdminScope } from './scope';
import {
  existingTarget,
  initialTarget,
  TARGET_FIELDS,
  TargetFields,
  type TargetValue,
  targetBody,
  targetChoices,
  targetReady,
  useChosenInstance,
} from './targets';

type Inspection =
  | { state: 'reading' }
  | { state: 'read'; summary: BackupFileSummary }
  | { state: 'invalid'; reason: string };

interface Imported {
  job: Job;
  instance: Instance;
  backup: Backup;
}

function ArchiveFacts({ file, inspection }: { file: File; inspection: Inspection | null }) {
  const read = inspection?.state === 'read' ? inspection.summary : null;
  const summary = read?.kind === 'zip' ? read.zip : null;
  const dump = read?.kind === 'dump' ? read.dump : null;
  const manifest = summary?.manifest;
  const modules = manifest?.modules ? Object.keys(manifest.modules).length : null;
  return (
    <div className="archive-facts" data-testid="archive-facts">
      <span className="archive-icon" aria-hidden="true">
        <FileZipIcon width={26} height={26} />
      </span>
      <div className="archive-main">
        <strong className="archive-name">{file.name}</strong>
        <span className="muted">{formatBytes(file.size)}</span>
      </div>
      {inspection?.state === 'reading' ? <span className="muted">Reading the archive…</span> : null}
      {dump ? <DumpFacts dump={dump} /> : null}
      {manifest ? (
        <dl className="archive-list">
          <div>
            <dt>Odoo</dt>
            <dd data-testid="archive-version">{manifest.version ?? manifestVersion(manifest) ?? '?'}</dd>
          </div>
          <div>
            <dt>Database</dt>
            <dd className="mono">{manifest.db_name ?? '?'}</dd>
          </div>
          <div>
            <dt>Modules</dt>
            <dd>{modules ?? '?'}</dd>
          </div>
          <div>
            <dt>Filestore</dt>
            <dd>
              {summary?.filestoreFiles ?? 0} file{summary?.filestoreFiles === 1 ? '' : 's'}
            </dd>
          </div>
          {manifest.pg_version ? (
            <div>
              <dt>PostgreSQL</dt>
              <dd>{manifest.pg_version}</dd>
            </div>
          ) : null}
        </dl>
      ) : null}
    </div>
  );
}

/** What a custom-format .dump's header says; its Odoo version is read by the server, from its data. */
function DumpFacts({ dump }: { dump: { archiveVersion: string; dbName: string; serverVersion: string } }) {
  return (
    <dl className="archive-list">
      <div>
        <dt>Format</dt>
        <dd>PostgreSQL custom-format dump</dd>
      </div>
      <div>
        <dt>Database</dt>
        <dd className="mono">{dump.dbName || '?'}</dd>
      </div>
      <div>
        <dt>PostgreSQL</dt>
        <dd>{dump.serverVersion.split(' ')[0] || '?'}</dd>
      </div>
      <div>
        <dt>Filestore</dt>
        <dd>none (database only)</dd>
      </div>
    </dl>
  );
}

/**
 * Import a backup from Odoo's database manager (zip or .dump), Odoo.sh or Marina into a new or an
 * existing instance. The file is recognised by its content, as the server does.
 */
export function ImportPage() {
  const me = useMe();
  const toast = useToast();
  const scope = useAdminScope();
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [inspection, setInspection] = useState<Inspection | null>(null);
  const [dragging, setDragging] = useState(false);
  const [value, setValue] = useState<TargetValue>(() => initialTarget('new', me.user.email));
  const [error, setError] = useState<unknown>(null);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [upload, setUpload] = useState<Upload<Imported> | null>(null);
  const [imported, setImported] = useState<Imported | null>(null);

  const read = inspection?.state === 'read' ? inspection.summary : null;
  const isDump = read?.kind === 'dump';
  // A .dump names no Odoo version in its header: every target is offered, the server checks it.
  const version = read?.kind === 'zip' ? manifestVersion(read.zip.manifest) : null;
  const choices = targetChoices(scope, { odooVersion: version });
  const { projects } = choices;
  const mode = value.mode === 'existing' && !choices.anyInstance ? 'new' : value.mode;
  const shown: TargetValue = {
    ...value,
    mode,
    project: projects.some((p) => p.id === value.project) ? value.project : (projects[0]?.id ?? ''),
  };
  const chosen = useChosenInstance(shown, choices);
  const target = existingTarget(shown, null, chosen);
  const archiveProblem = inspection?.state === 'invalid' ? inspection.reason : null;

  async function choose(chosen: File | null | undefined) {
    setError(null);
    if (!chosen) return;
    setFile(chosen);
    setInspection({ state: 'reading' });
    try {
      setInspection({ state: 'read', summary: await inspectBackupFile(chosen) });
    } catch (caught) {
      setInspection(
        caught instanceof NotABackupError
          ? { state: 'invalid', reason: caught.message }
          : // The browser could not look inside; the server will judge.
            {
              state: 'read',
              summary: {
                kind: 'zip',
                zip: { manifest: null, hasManifest: true, hasDump: true, filestoreFiles: 0, entries: 0 },
              },
            },
      );
    }
  }

  function drop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    void choose(event.dataTransfer.files[0]);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) return;
    setError(null);
    const target = targetBody(shown, null, chosen, { copy: true });
    const query = new URLSearchParams();
    if (target.instanceId) query.set('instance', target.instanceId);
    if (target.confirm) query.set('confirm', target.confirm);
    if (target.newInstance) {
      query.set('project', target.newInstance.project);
      query.set('name', target.newInstance.name);
      query.set('stage', target.newInstance.stage);
      query.set('adminLogin', target.newInstance.adminLogin);
    }
    if (target.neutralize !== undefined) query.set('neutralize', String(target.neutralize));
    setProgress({ loaded: 0, total: file.size });
    const started = uploadFile<Imported>(
      `/api/v1/imports?${query}`,
      file,
      isDump ? 'application/octet-stream' : 'application/zip',
      setProgress,
    );
    setUpload(started);
    try {
      const answer = await started.done;
      setImported(answer);
      scope.reload();
    } catch (caught) {
      if (!(caught instanceof ApiError && caught.code === 'MARINA_E_ABORTED')) setError(caught);
      setProgress(null);
    } finally {
      setUpload(null);
    }
  }

  const uploading = upload !== null;
  const sent = progress ? Math.min(100, (progress.loaded / Math.max(1, progress.total)) * 100) : 0;
  const tooLarge = error instanceof ApiError && error.status === 413;

  let body: React.ReactNode;
  if (scope.error) body = <Alert kind="error">{errorMessage(scope.error)}</Alert>;
  else if (scope.loading) body = <Loading />;
  else if (scope.organizations.length === 0)
    body = (
      <Alert kind="info" title="You cannot import backups">
        Importing is for organization owners and admins. Ask one of them, or a platform administrator.
      </Alert>
    );
  else if (imported && file)
    body = (
      <section className="card wizard-card import-done">
        <div className="upload-box">
          <div className="job-progress-head">
            <span>Uploaded {file.name}</span>
            <span className="tabular">{formatBytes(file.size)}</span>
          </div>
          <ProgressBar value={100} label="Upload progress" tone="green" testId="upload-progress" />
        </div>
        <JobProgress
          job={imported.job}
          detailed
          label="Import progress"
          title={
            <>
              Import into <span className="mono">{imported.instance.name}</span>
            </>
          }
          extra={
            <span className="inline-links">
              <Link to={`/instances/${imported.instance.id}`}>Open {imported.instance.name}</Link>
              <Link to={`/instances/${imported.instance.id}?tab=backups`}>Its backups</Link>
            </span>
          }
          onEnded={(job) => {
            if (job.status === 'succeeded') toast.success(`${imported.instance.name} now holds the imported database.`);
          }}
        />
        <p className="field-hint">
          The {isDump ? '.dump' : 'zip'} is kept as a backup of {imported.instance.name} (trigger “Import”), so it can
          be restored again{isDump ? ' or downloaded as a .dump' : ''}.
        </p>
      </section>
    );
  else
    body = (
      <form className="form import-form" onSubmit={submit} noValidate>
        <section className="card wizard-card">
          <h2 className="card-title">1. The backup</h2>
          <label
            className={`file-drop${dragging ? ' file-drop-active' : ''}${file ? ' file-drop-chosen' : ''}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={drop}
          >
            <input
              ref={input}
              type="file"
              accept=".zip,.dump,application/zip"
              aria-label="Backup file"
              disabled={uploading}
              onChange={(e) => void choose(e.target.files?.[0])}
            />
            <span className="file-drop-icon" aria-hidden="true">
              <UploadIcon width={24} height={24} />
            </span>
            <span className="file-drop-text">
              <strong>{file ? 'Choose another file' : 'Choose a .zip or .dump file'}</strong> or drop it here
            </span>
            <span className="field-hint">
              Made by Odoo’s database manager (Backup, format “zip (includes filestore)” or “pg_dump custom format
              (without filestore)”), downloaded from Odoo.sh, or by Marina.
            </span>
          </label>
          {file ? <ArchiveFacts file={file} inspection={inspection} /> : null}
          {archiveProblem ? <Alert kind="error">{archiveProblem}</Alert> : null}
        </section>
        <section className="card wizard-card">
          <h2 className="card-title">2. Where it goes</h2>
          <div className="form">
            <TargetFields
              value={shown}
              onChange={(patch) => setValue({ ...shown, ...patch })}
              scope={scope}
              chosen={chosen}
              choices={choices}
              projects={projects}
              error={error}
              verb="replace its data"
              versionNote={
                version
                  ? `Instances and projects on Odoo ${version}, the version of this backup.`
                  : 'The project’s Odoo version must be the backup’s.'
              }
              replaceWarning={(t) => (
                <>
                  The data of {t.name} is replaced by the imported database. It keeps serving while the import loads
                  beside it, then stops for a few seconds for the swap. Its current data is kept aside as the undo: one
                  click on the instance page swaps it back.
                </>
              )}
            />
            {version && !choices.anyInstance ? (
              <Alert kind="warning" title={`Nothing runs Odoo ${version} yet`}>
                Create a project on Odoo {version} first (<Link to="/instances/new">New instance</Link>), then come
                back.
              </Alert>
            ) : null}
          </div>
        </section>
        {uploading && progress ? (
          <section className="card card-body upload-box" aria-label="Upload">
            <div className="job-progress-head">
              <span>
                {sent >= 100 ? 'Checking the archive…' : `Uploading ${file?.name ?? ''}…`}{' '}
                <span className="muted tabular">
                  {formatBytes(progress.loaded)} of {formatBytes(progress.total)}
                </span>
              </span>
              <span className="tabular">{Math.floor(sent)} %</span>
            </div>
            <ProgressBar value={sent} label="Upload progress" size="large" active testId="upload-progress" />
          </section>
        ) : null}
        {tooLarge ? (
          <Alert kind="error" title="The file is too large">
            {errorMessage(error)}
          </Alert>
        ) : (
          <FormError error={error} fields={TARGET_FIELDS} />
        )}
        <div className="form-actions">
          {uploading ? (
            <button type="button" className="btn btn-secondary" onClick={() => upload?.abort()}>
              Cancel upload
            </button>
          ) : (
            <Link className="btn btn-secondary" to="/backups">
              Cancel
            </Link>
          )}
          <button
            type="submit"
            className={target ? 'btn btn-danger' : 'btn btn-primary'}
            disabled={
              uploading ||
              !file ||
              inspection?.state === 'reading' ||
              archiveProblem !== null ||
              !targetReady(shown, null, chosen)
            }
          >
            <UploadIcon />
            {uploading ? 'Uploading…' : target ? `Upload and import into ${target.name}` : 'Upload and import'}
          </button>
        </div>
      </form>
    );

  return (
    <>
      <Link className="back-link" to="/backups">
        <ArrowLeftIcon />
        Backups
      </Link>
      <PageHeader
        title="Import a backup"
        subtitle="Bring an Odoo database in from a zip or a .dump: a new instance is created for it, or an existing one takes it."
      />
      {body}
    </>
  );
}
