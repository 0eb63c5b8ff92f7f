import { Type } from 'typebox';
import { TEMPLATE_MAX_MODULES } from '../../odoo/template-recipe.js';
import { DateTime, Name, Nullable, Slug } from '../../platform/http/schemas.js';

export const TEMPLATE_DESCRIPTION_MAX = 500;

/** A template as platform admins see it. */
export const OdooTemplate = Type.Object(
  {
    id: Type.String(),
    slug: Type.String(),
    name: Type.String(),
    description: Type.String(),
    odooVersion: Type.String(),
    /** Installed with base in one `-i` run; base itself is never listed. */
    modules: Type.Array(Type.String()),
    language: Type.String(),
    country: Nullable(Type.String()),
    companyNameFromOrg: Type.Boolean(),
    demo: Type.Boolean(),
    public: Type.Boolean(),
    sort: Type.Integer(),
    /** sha256 of the recipe (version, modules, language, country, demo). */
    contentHash: Type.String(),
    /** How many instances were made with it (an archived template keeps them). */
    instances: Type.Integer(),
    archivedAt: Nullable(DateTime),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'OdooTemplate' },
);

/** What the sign-up page and the instance form show of a template: the recipe, no internals. */
export const PublicOdooTemplate = Type.Object(
  {
    id: Type.String(),
    slug: Type.String(),
    name: Type.String(),
    description: Type.String(),
    odooVersion: Type.String(),
    modules: Type.Array(Type.String()),
    language: Type.String(),
    country: Nullable(Type.String()),
    demo: Type.Boolean(),
  },
  { title: 'PublicOdooTemplate' },
);

// The shapes only: every rule is checked again by the service, which names the field and the rule.
const templateFields = {
  slug: Slug,
  name: Name,
  description: Type.String({ maxLength: TEMPLATE_DESCRIPTION_MAX }),
  odooVersion: Type.String({ minLength: 1, maxLength: 10, examples: ['17.0'] }),
  modules: Type.Array(Type.String({ maxLength: 100 }), {
    // base may be listed and is dropped: one more than the limit.
    maxItems: TEMPLATE_MAX_MODULES + 1,
    description: `Technical module names (/^[a-z0-9_]{1,64}$/), at most ${TEMPLATE_MAX_MODULES} besides base`,
  }),
  language: Type.String({ minLength: 1, maxLength: 20, examples: ['en_US'] }),
  country: Nullable(Type.String({ maxLength: 2, description: 'ISO 3166-1 alpha-2, upper case' })),
  companyNameFromOrg: Type.Boolean(),
  demo: Type.Boolean(),
  public: Type.Boolean(),
  sort: Type.Integer({ minimum: -100000, maximum: 100000 }),
};

export const NewOdooTemplateBody = Type.Object(
  {
    slug: templateFields.slug,
    name: templateFields.name,
    odooVersion: templateFields.odooVersion,
    description: Type.Optional(templateFields.description),
    modules: Type.Optional(templateFields.modules),
    language: Type.Optional(templateFields.language),
    country: Type.Optional(templateFields.country),
    companyNameFromOrg: Type.Optional(templateFields.companyNameFromOrg),
    demo: Type.Optional(templateFields.demo),
    public: Type.Optional(templateFields.public),
    sort: Type.Optional(templateFields.sort),
  },
  { additionalProperties: false, title: 'NewOdooTemplate' },
);

export const OdooTemplatePatchBody = Type.Partial(Type.Object(templateFields), {
  additionalProperties: false,
  title: 'OdooTemplatePatch',
});
