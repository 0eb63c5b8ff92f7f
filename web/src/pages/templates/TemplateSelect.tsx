import { useQuery } from '@tanstack/react-query';
import { Field } from '../../components/Field';
import { type UsableTemplate, usableTemplatesQuery } from './api';
import '../../styles/templates.css';

/**
 * The instance form's optional template: those offered for the project's Odoo version. Nothing
 * is shown when there is none, so the form stays as it was.
 */
export function TemplateSelect({
  odooVersion,
  value,
  onChange,
  error,
}: {
  odooVersion: string;
  value: UsableTemplate | null;
  onChange(template: UsableTemplate | null): void;
  error?: string;
}) {
  const templates = useQuery(usableTemplatesQuery());
  const fitting = (templates.data ?? []).filter((t) => t.odooVersion === odooVersion);
  if (fitting.length === 0) return null;
  const hint = value
    ? `${value.description ? `${value.description} ` : ''}Installs base${value.modules.length ? `, ${value.modules.join(', ')}` : ''}${value.demo ? ', with demo data' : ''}.`
    : 'None: an empty Odoo (base only).';
  return (
    <Field label="Template" optional hint={hint} error={error}>
      {(props) => (
        <select
          {...props}
          value={value?.id ?? ''}
          onChange={(e) => onChange(fitting.find((t) => t.id === e.target.value) ?? null)}
        >
          <option value="">None</option>
          {fitting.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
