import { Type } from 'typebox';
import { DateTime, Name, Slug } from '../../platform/http/schemas.js';

/** A provider as a platform admin sees it: the client secret is never returned. */
export const OidcProvider = Type.Object(
  {
    id: Type.String(),
    slug: Slug,
    name: Type.String(),
    issuer: Type.String(),
    clientId: Type.String(),
    scopes: Type.String(),
    allowSignup: Type.Boolean(),
    enabled: Type.Boolean(),
    /** Accounts that signed in through it at least once. */
    linkedAccounts: Type.Integer(),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'OidcProvider' },
);

const Issuer = Type.String({
  minLength: 1,
  maxLength: 500,
  description: 'The issuer identifier; its /.well-known/openid-configuration must answer',
});
const ClientId = Type.String({ minLength: 1, maxLength: 255 });
const ClientSecret = Type.String({ minLength: 1, maxLength: 1000, description: 'Sealed at rest; never returned' });
const Scopes = Type.String({
  minLength: 1,
  maxLength: 300,
  description: 'Space-separated; must include openid (default "openid email profile")',
});

export const OidcProviderCreate = Type.Object(
  {
    slug: Slug,
    name: Name,
    issuer: Issuer,
    clientId: ClientId,
    clientSecret: ClientSecret,
    scopes: Type.Optional(Scopes),
    allowSignup: Type.Optional(Type.Boolean()),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const OidcProviderUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    issuer: Type.Optional(Issuer),
    clientId: Type.Optional(ClientId),
    clientSecret: Type.Optional(ClientSecret),
    scopes: Type.Optional(Scopes),
    allowSignup: Type.Optional(Type.Boolean()),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** What the login page shows: a button per enabled provider. */
export const PublicOidcProvider = Type.Object({ slug: Type.String(), name: Type.String() });
