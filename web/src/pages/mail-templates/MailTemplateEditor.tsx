import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { ApiError, errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { useToast } from '../../components/Toast';
import { formatDateTime } from '../../format';
import { MailPreview } from './MailPreview';
import { type MailTemplate, mailTemplateKeys, type Rendered, type TemplateSummary } from './types';

const LOCALE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/;
const PREVIEW_DELAY_MS = 400;

interface EditorProps {
  summary: TemplateSummary;
  locale: string;
  label: string;
  onLocale(locale: string): void;
  onClose(): void;
}

/** Where the template went wrong, as the API said it (part, line, column). */
function problemOf(error: unknown): { field?: string; where: string; message: string } {
  if (error instanceof ApiError) {
    const { field, line, column } = error.details as { field?: string; line?: number | null; column?: number | null };
    return { field, where: typeof line === 'number' ? `line ${line}, column ${column}` : '', message: error.message };
  }
  return { where: '', message: errorMessage(error) };
}

/** One mail in one language: subject, HTML and text, the variables it may use, and a live preview. */
export function MailTemplateEditor({ summary, locale, label, onLocale, onClose }: EditorProps) {
  const loaded = useQuery({
    queryKey: mailTemplateKeys.one(summary.key, locale),
    queryFn: async () =>
      (await call(api.GET('/api/v1/mail-templates/{key}/{locale}', { params: { path: { key: summary.key, locale } } })))
        .template,
  });
  return (
    <section className="card" aria-label={`Edit the ${label} email`}>
      <header className="card-header">
        <div>
          <h2 className="title-with-badge">
            {label}{' '}
            {loaded.data ? (
              loaded.data.overridden ? (
                <Badge tone="teal">edited</Badge>
              ) : (
                <Badge tone="gray">{locale === 'en' ? 'default' : 'English default'}</Badge>
              )
            ) : null}
          </h2>
          <p className="card-subtitle">{summary.description}</p>
        </div>
        <button type="button" className="btn btn-secondary btn-small" onClick={onClose}>
          All emails
        </button>
      </header>
      <div className="card-body">
        <LocalePicker summary={summary} locale={locale} onLocale={onLocale} />
        {loaded.isPending ? <Loading /> : null}
        {loaded.error ? <Alert kind="error">{errorMessage(loaded.error)}</Alert> : null}
        {loaded.data ? <EditorForm summary={summary} template={loaded.data} /> : null}
      </div>
    </section>
  );
}

function LocalePicker({ summary, locale, onLocale }: Pick<EditorProps, 'summary' | 'locale' | 'onLocale'>) {
  const [typed, setTyped] = useState('');
  const known = [...new Set(['en', ...summary.overriddenLocales, locale])];
  return (
    <div className="mail-locale-row">
      <span className="mail-locale-label">Language</span>
      {known.map((l) => (
        <button
          key={l}
          type="button"
          className={l === locale ? 'btn btn-small btn-primary' : 'btn btn-small btn-secondary'}
          aria-pressed={l === locale}
          onClick={() => onLocale(l)}
        >
          {l}
        </button>
      ))}
      <form
        className="mail-locale-add"
        onSubmit={(event) => {
          event.preventDefault();
          if (LOCALE.test(typed.trim())) onLocale(typed.trim());
        }}
      >
        <input
          aria-label="Another language (e.g. fr, pt-BR)"
          placeholder="fr, pt-BR…"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          size={8}
        />
        <button type="submit" className="btn btn-small btn-secondary" disabled={!LOCALE.test(typed.trim())}>
          Add
        </button>
      </form>
    </div>
  );
}

function EditorForm({ summary, template }: { summary: TemplateSummary; template: MailTemplate }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const [subject, setSubject] = useState(template.subject);
  const [html, setHtml] = useState(template.html);
  const [text, setText] = useState(template.text);
  const [rendered, setRendered] = useState<Rendered | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [resetting, setResetting] = useState(false);
  const changed = subject !== template.subject || html !== template.html || text !== template.text;

  // The preview follows the typing (debounced): the sample values, rendered by the server as a mail would be.
  useEffect(() => {
    let current = true;
    const timer = setTimeout(async () => {
      try {
        const answer = await call(
          api.POST('/api/v1/mail-templates/{key}/preview', {
            params: { path: { key: template.key } },
            body: { subject, html, text },
          }),
        );
        if (!current) return;
        setRendered(answer.rendered);
        setPreviewError(null);
        // What renders now would save: a refusal of an earlier version no longer applies.
        setSaveError(null);
      } catch (error) {
        if (current) setPreviewError(error);
      }
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [template.key, subject, html, text]);

  const refresh = () => queryClient.invalidateQueries({ queryKey: mailTemplateKeys.all });

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setSaveError(null);
    try {
      await call(
        api.PUT('/api/v1/mail-templates/{key}/{locale}', {
          params: { path: { key: template.key, locale: template.locale } },
          body: { subject, html, text },
        }),
      );
      toast.success(`Saved the ${template.locale} version.`);
      await refresh();
    } catch (error) {
      setSaveError(error);
    } finally {
      setBusy(false);
    }
  }

  const problem = previewError ? problemOf(previewError) : saveError ? problemOf(saveError) : null;
  const errorFor = (field: string) => (problem && problem.field === field ? problem.message : undefined);

  return (
    <div className="mail-editor">
      <form className="form mail-editor-form" onSubmit={save} noValidate aria-label="Template">
        <Field label="Subject" error={errorFor('subject')}>
          {(props) => (
            <input
              {...props}
              className="mono"
              spellCheck={false}
              value={subject}
              onChange={(e) => setSubject(e.target.value)}
            />
          )}
        </Field>
        <Field
          label="HTML"
          hint="Values are HTML-escaped. Inline styles only: mail clients drop the rest."
          error={errorFor('html')}
        >
          {(props) => (
            <textarea
              {...props}
              className="mono mail-editor-code"
              rows={14}
              spellCheck={false}
              value={html}
              onChange={(e) => setHtml(e.target.value)}
            />
          )}
        </Field>
        <Field label="Text" hint="Required: every mail has a plain-text part." error={errorFor('text')}>
          {(props) => (
            <textarea
              {...props}
              className="mono mail-editor-code"
              rows={10}
              spellCheck={false}
              value={text}
              onChange={(e) => setText(e.target.value)}
            />
          )}
        </Field>
        {problem && !['subject', 'html', 'text'].includes(problem.field ?? '') ? (
          <Alert kind="error" title={problem.where ? `Does not render (${problem.where})` : 'Does not render'}>
            <span data-testid="template-problem">{problem.message}</span>
          </Alert>
        ) : null}
        <div className="form-actions form-actions-start">
          <button type="submit" className="btn btn-primary" disabled={busy || !changed}>
            {busy ? 'Saving…' : `Save ${template.locale}`}
          </button>
          {template.overridden ? (
            <button type="button" className="btn btn-danger-text" onClick={() => setResetting(true)}>
              Back to the default
            </button>
          ) : null}
          {template.updatedAt ? <span className="muted">Last saved {formatDateTime(template.updatedAt)}</span> : null}
        </div>
      </form>
      <aside className="mail-editor-side">
        <h3>Variables</h3>
        <p className="muted">Write them as {'{{ name }}'}. The preview uses these sample values.</p>
        <dl className="mail-variables" data-testid="mail-variables">
          {summary.variables.map((variable) => (
            <div key={variable.name}>
              <dt>
                <code>{`{{ ${variable.name} }}`}</code>
              </dt>
              <dd>
                {variable.description}
                <span className="mail-variable-sample">e.g. {JSON.stringify(variable.sample)}</span>
              </dd>
            </div>
          ))}
        </dl>
        <h3>Preview</h3>
        {rendered ? <MailPreview rendered={rendered} /> : <Loading label="Rendering…" />}
      </aside>
      {resetting ? (
        <ConfirmDialog
          title="Go back to the default?"
          confirmLabel="Remove my version"
          onClose={() => setResetting(false)}
          onConfirm={async () => {
            await call(
              api.DELETE('/api/v1/mail-templates/{key}/{locale}', {
                params: { path: { key: template.key, locale: template.locale } },
              }),
            );
            setResetting(false);
            toast.success('The default applies again.');
            await refresh();
          }}
        >
          Your {template.locale} version of this mail is removed;{' '}
          {template.locale === 'en' ? 'the shipped default' : 'the English version'} is sent instead.
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
