import { type FormEvent, useState } from 'react';
import { ApiError } from '../../api/errors';
import { CheckboxField } from '../../components/ChoiceCard';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { Modal } from '../../components/Modal';
import { languages } from '../../operate';
import { newestFirst, useOdooVersions } from '../new-instance/versions';
import type { NewOdooTemplate, OdooTemplate } from './api';
import { MAX_MODULES, parseModules } from './modules-input';

const FIELDS = [
  'slug',
  'name',
  'description',
  'odooVersion',
  'modules',
  'language',
  'country',
  'sort',
  'demo',
  'public',
  'companyNameFromOrg',
] as const;
const DESCRIPTION_MAX = 500;

/** A new template, or changes to one: what a new instance is made with (modules, language, country, demo data). */
export function TemplateForm({
  template,
  onSave,
  onClose,
}: {
  template?: OdooTemplate;
  onSave(input: NewOdooTemplate): Promise<void>;
  onClose(): void;
}) {
  const versions = useOdooVersions();
  const [name, setName] = useState(template?.name ?? '');
  const [slug, setSlug] = useState(template?.slug ?? '');
  const [description, setDescription] = useState(template?.description ?? '');
  const [odooVersion, setOdooVersion] = useState(template?.odooVersion ?? '17.0');
  const [modulesText, setModulesText] = useState(template?.modules.join(', ') ?? '');
  const [language, setLanguage] = useState(template?.language ?? 'en_US');
  const [country, setCountry] = useState(template?.country ?? '');
  const [companyNameFromOrg, setCompanyNameFromOrg] = useState(template?.companyNameFromOrg ?? true);
  const [demo, setDemo] = useState(template?.demo ?? false);
  const [isPublic, setPublic] = useState(template?.public ?? true);
  const [sort, setSort] = useState(String(template?.sort ?? 0));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  const parsed = parseModules(modulesText);
  const versionChoices = newestFirst(versions.data ?? []).map((v) => v.version);
  if (!versionChoices.includes(odooVersion)) versionChoices.push(odooVersion);
  const languageChoices = languages.some((l) => l.code === language)
    ? languages
    : [...languages, { code: language, label: language }];

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (parsed.problem) return;
    setBusy(true);
    setError(null);
    try {
      await onSave({
        name,
        slug,
        description,
        odooVersion,
        modules: parsed.modules,
        language,
        country: country.trim() === '' ? null : country.trim(),
        companyNameFromOrg,
        demo,
        public: isPublic,
        sort: Number(sort || 0),
      });
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  return (
    <Modal
      title={template ? `Edit ${template.name}` : 'New template'}
      description="What a new instance is made with: Odoo installs these modules with base, in one run."
      onClose={onClose}
      width="wide"
    >
      <form className="form" onSubmit={submit} noValidate aria-label="Template">
        <FormError error={error} fields={FIELDS} />
        <div className="template-form-grid">
          <Field label="Name" error={fieldErrors.name}>
            {(props) => <input {...props} autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field label="Slug" hint="Lowercase letters, digits and dashes." error={fieldErrors.slug}>
            {(props) => (
              <input
                {...props}
                className="mono"
                autoComplete="off"
                spellCheck={false}
                value={slug}
                onChange={(e) => setSlug(e.target.value)}
              />
            )}
          </Field>
        </div>
        <Field
          label="Description"
          optional
          hint={`Shown at sign-up. ${description.length}/${DESCRIPTION_MAX} characters.`}
          error={fieldErrors.description}
        >
          {(props) => (
            <textarea
              {...props}
              rows={2}
              maxLength={DESCRIPTION_MAX}
              value={description}
              onChange={(e) => setDescription(e.target.value)}
            />
          )}
        </Field>
        <Field
          label="Modules"
          optional
          hint={
            parsed.problem
              ? undefined
              : parsed.modules.length === 0
                ? 'Technical names separated by commas or spaces. Empty: base only.'
                : `Installs base, ${parsed.modules.join(', ')} (${parsed.modules.length} of at most ${MAX_MODULES}).`
          }
          error={parsed.problem ?? fieldErrors.modules}
        >
          {(props) => (
            <textarea
              {...props}
              className="mono"
              rows={3}
              spellCheck={false}
              placeholder="sale_management, crm, account"
              value={modulesText}
              onChange={(e) => setModulesText(e.target.value)}
            />
          )}
        </Field>
        <div className="template-form-grid template-form-grid-4">
          <Field label="Odoo version" error={fieldErrors.odooVersion}>
            {(props) => (
              <select {...props} value={odooVersion} onChange={(e) => setOdooVersion(e.target.value)}>
                {versionChoices.map((v) => (
                  <option key={v} value={v}>
                    Odoo {v}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Language" error={fieldErrors.language}>
            {(props) => (
              <select {...props} value={language} onChange={(e) => setLanguage(e.target.value)}>
                {languageChoices.map((l) => (
                  <option key={l.code} value={l.code}>
                    {l.label} — {l.code}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Country" optional hint="Two letters, e.g. BE." error={fieldErrors.country}>
            {(props) => (
              <input
                {...props}
                className="mono"
                maxLength={2}
                value={country}
                onChange={(e) => setCountry(e.target.value.toUpperCase())}
              />
            )}
          </Field>
          <Field label="Order" hint="Lower first." error={fieldErrors.sort}>
            {(props) => (
              <input {...props} type="number" step={1} value={sort} onChange={(e) => setSort(e.target.value)} />
            )}
          </Field>
        </div>
        <CheckboxField
          label="Name the company after the organization"
          checked={companyNameFromOrg}
          onChange={setCompanyNameFromOrg}
        />
        <CheckboxField
          label="Demo data"
          hint="Loaded when the database is made; the demo users cannot sign in."
          checked={demo}
          onChange={setDemo}
        />
        <CheckboxField
          label="Offered at sign-up and in the instance form (public)"
          checked={isPublic}
          onChange={setPublic}
        />
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || parsed.problem !== null}>
            {busy ? 'Saving…' : template ? 'Save template' : 'Create template'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
