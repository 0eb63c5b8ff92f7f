import { Type } from 'typebox';
import { Email, Nullable } from '../../platform/http/schemas.js';
import { limits } from '../../platform/validation.js';
import { SessionStart } from '../identity/schemas.js';
import { PublicPlan } from '../plans/schemas.js';

const Count = Type.Integer({ minimum: 1, maximum: 100_000 });

export const SignupSettings = Type.Object(
  {
    enabled: Type.Boolean(),
    refusedDomains: Type.Array(Type.String({ maxLength: 253 }), { maxItems: 500 }),
    reservedNames: Type.Array(Type.String({ maxLength: 63 }), { maxItems: 500 }),
    perAddressPerDay: Count,
    perDomainPerDay: Count,
    perIpPerHour: Count,
  },
  { title: 'SignupSettings', additionalProperties: false },
);

export const SignupTemplate = Type.Object(
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
  { title: 'SignupTemplate' },
);

export const SignupInfo = Type.Object(
  {
    open: Type.Literal(true),
    baseDomain: Type.String(),
    plans: Type.Array(PublicPlan),
    templates: Type.Array(SignupTemplate),
    providers: Type.Array(Type.Object({ slug: Type.String(), name: Type.String() })),
    passwordMinLength: Type.Integer(),
  },
  { title: 'SignupInfo' },
);

export const SubdomainCheck = Type.Object(
  {
    name: Type.String(),
    hostname: Type.String(),
    available: Type.Boolean(),
    reason: Nullable(Type.Union([Type.Literal('invalid'), Type.Literal('reserved'), Type.Literal('taken')])),
    message: Type.Optional(Type.String()),
  },
  { title: 'SubdomainCheck' },
);

const common = {
  organizationName: Type.String({ minLength: 1, maxLength: limits.name }),
  subdomain: Type.String({ maxLength: 63 }),
  planId: Type.String({ maxLength: 40 }),
  templateId: Type.Optional(Nullable(Type.String({ maxLength: 40 }))),
  locale: Type.Optional(Type.String({ maxLength: 10 })),
};

export const SignupRequest = Type.Union(
  [
    Type.Object(
      {
        email: Email,
        ...common,
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        provider: Type.String({ minLength: 1, maxLength: 40, description: 'An external provider offering sign-up' }),
        ...common,
      },
      { additionalProperties: false },
    ),
  ],
  { title: 'SignupRequest' },
);

export const SignupAnswer = Type.Union(
  [
    Type.Object({ status: Type.Literal('sent') }),
    Type.Object({
      status: Type.Literal('redirect'),
      url: Type.String({ description: 'Where the browser goes next: the provider sign-in start' }),
    }),
  ],
  { title: 'SignupAnswer' },
);

/** The emailed link's token and the password the person chooses for the new account. */
export const SignupVerify = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 200 }),
    password: Type.String({ maxLength: limits.password.max }),
  },
  { title: 'SignupVerify', additionalProperties: false },
);

export const SignupVerified = Type.Intersect(
  [
    SessionStart,
    Type.Object({
      organization: Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String() }),
      instanceId: Type.String(),
      jobId: Type.String(),
      credentialsToken: Type.String({
        description: 'Opens the first instance’s credentials once (POST /credential-links/open)',
      }),
    }),
  ],
  { title: 'SignupVerified' },
);
