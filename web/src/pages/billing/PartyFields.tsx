import { ApiError } from '../../api/errors';
import { Field } from '../../components/Field';
import { EmailField, NameField } from '../../components/FormFields';

/* Who an invoice is made out to (the buyer) or from (the seller): the same five fields. */

export interface Party {
  name: string;
  addressLines: string[];
  country: string;
  taxId: string | null;
  email: string | null;
}

/** The form's text: the address as lines in one box, blanks for what is not set. */
export interface PartyDraft {
  name: string;
  address: string;
  country: string;
  taxId: string;
  email: string;
}

export const PARTY_FIELDS = ['name', 'addressLines', 'country', 'taxId', 'email'] as const;
export type PartyField = (typeof PARTY_FIELDS)[number];

export const draftOf = (party: Party): PartyDraft => ({
  name: party.name,
  address: party.addressLines.join('\n'),
  country: party.country,
  taxId: party.taxId ?? '',
  email: party.email ?? '',
});

export const partyOf = (draft: PartyDraft): Party => ({
  name: draft.name.trim(),
  addressLines: draft.address
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== ''),
  country: draft.country.trim().toUpperCase(),
  taxId: draft.taxId.trim() || null,
  email: draft.email.trim() || null,
});

/**
 * The API's complaint about a field, whichever name it used: the request schema names fields from
 * the body (`country`, `addressLines.2`), the service from its own view (`details.country`).
 */
export function fieldErrorIn(error: unknown, prefixes: readonly string[]) {
  const errors = error instanceof ApiError ? error.fieldErrors : {};
  return (field: string): string | undefined => {
    for (const prefix of prefixes) {
      const name = `${prefix}${field}`;
      const found = Object.entries(errors).find(([key]) => key === name || key.startsWith(`${name}.`));
      if (found) return found[1];
    }
    return undefined;
  };
}

/**
 * The field names in the error that the form shows next to its fields (a party's under `prefixes`,
 * and `extra`): FormError then leaves out the sentence the fields already say.
 */
export function namesShownInline(error: unknown, prefixes: readonly string[], extra: readonly string[] = []): string[] {
  const names = error instanceof ApiError ? Object.keys(error.fieldErrors) : [];
  return names.filter(
    (name) => extra.includes(name) || prefixes.some((p) => PARTY_FIELDS.some((f) => name.startsWith(`${p}${f}`))),
  );
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region' });

/** "Zimbabwe" for ZW; nothing for what is not a known code. */
function countryName(code: string): string | undefined {
  if (!/^[A-Z]{2}$/.test(code)) return undefined;
  try {
    const name = regionNames.of(code);
    return name && name !== code ? name : undefined;
  } catch {
    return undefined;
  }
}

export function PartyFields({
  draft,
  onChange,
  errorOf,
  nameLabel = 'Legal name',
}: {
  draft: PartyDraft;
  onChange(next: PartyDraft): void;
  errorOf(field: PartyField): string | undefined;
  nameLabel?: string;
}) {
  const set = (changes: Partial<PartyDraft>) => onChange({ ...draft, ...changes });
  const country = countryName(draft.country.toUpperCase());
  return (
    <div className="billing-party">
      <NameField
        label={nameLabel}
        value={draft.name}
        onChange={(name) => set({ name })}
        error={errorOf('name')}
        maxLength={200}
        autoComplete="organization"
      />
      <Field label="Address" hint="One line per line, as printed (at most 6)." error={errorOf('addressLines')} optional>
        {(props) => (
          <textarea
            {...props}
            rows={3}
            value={draft.address}
            autoComplete="street-address"
            onChange={(e) => set({ address: e.target.value })}
          />
        )}
      </Field>
      <div className="form-grid">
        <Field
          label="Country"
          hint={country ?? 'Two letters, as ZW or US: it decides the tax rate.'}
          error={errorOf('country')}
        >
          {(props) => (
            <input
              {...props}
              className="mono billing-country"
              maxLength={2}
              autoComplete="country"
              value={draft.country}
              onChange={(e) => set({ country: e.target.value.toUpperCase() })}
            />
          )}
        </Field>
        <Field label="Tax id" hint="A VAT or BP number, printed on the invoice." error={errorOf('taxId')} optional>
          {(props) => (
            <input {...props} maxLength={64} value={draft.taxId} onChange={(e) => set({ taxId: e.target.value })} />
          )}
        </Field>
      </div>
      <EmailField
        label="Billing email"
        hint="Printed on the invoice; a mobile-money payment (EcoCash, OneMoney) needs it."
        value={draft.email}
        onChange={(email) => set({ email })}
        error={errorOf('email')}
        optional
      />
    </div>
  );
}
