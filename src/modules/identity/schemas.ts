import { Type } from 'typebox';
import { DateTime } from '../../platform/http/schemas.js';

/** The shapes of accounts, sessions, organizations and tokens in the API; services return these. */

export const Role = Type.Union([
  Type.Literal('owner'),
  Type.Literal('admin'),
  Type.Literal('developer'),
  Type.Literal('viewer'),
]);

/** A role as requests may send it: `member`, the old name of `viewer`, still works for scripts. */
export const RoleInput = Type.Union([Role, Type.Literal('member')], {
  description: 'owner, admin, developer or viewer (`member` is accepted as viewer)',
});

/** An organization of the signed-in user as `GET /me` answers it. */
export const MyOrganization = Type.Object(
  {
    id: Type.String(),
    slug: Type.String(),
    name: Type.String(),
    role: Role,
    permissions: Type.Array(Type.String(), {
      description:
        'What the role may do (src/platform/permissions.ts): a plain name on staging and development instances, `<name>@production` on production ones.',
    }),
    subscription: Type.Union([
      Type.Object({
        status: Type.Union([
          Type.Literal('trialing'),
          Type.Literal('active'),
          Type.Literal('past_due'),
          Type.Literal('suspended'),
          Type.Literal('cancelled'),
        ]),
        planName: Type.String(),
        trialEndsAt: Type.Union([DateTime, Type.Null()]),
      }),
      Type.Null(),
    ]),
  },
  { title: 'MyOrganization' },
);

export const User = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Type.String(),
    locale: Type.String({ description: 'The language of the mails Marina sends them (en when no translation exists)' }),
    isPlatformAdmin: Type.Boolean(),
    createdAt: DateTime,
  },
  { title: 'User' },
);

export const SessionStart = Type.Object({
  user: User,
  csrfToken: Type.String({ description: 'Send it back in the X-Marina-CSRF header on every write.' }),
  expiresAt: DateTime,
});

export const Organization = Type.Object(
  {
    id: Type.String(),
    slug: Type.String(),
    name: Type.String(),
    createdAt: DateTime,
    role: Type.Union([Role, Type.Null()]),
    memberCount: Type.Integer(),
  },
  { title: 'Organization' },
);

export const Member = Type.Object(
  {
    userId: Type.String(),
    email: Type.String(),
    name: Type.String(),
    role: Role,
    joinedAt: DateTime,
    disabled: Type.Boolean({ description: 'Disabled by a platform admin: cannot sign in' }),
  },
  { title: 'Member' },
);

export const ApiToken = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    prefix: Type.String(),
    createdAt: DateTime,
    lastUsedAt: Type.Union([DateTime, Type.Null()]),
    expiresAt: Type.Union([DateTime, Type.Null()]),
    revokedAt: Type.Union([DateTime, Type.Null()]),
    scope: Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('metrics')], {
      description: '`read`: the token can only send GET and HEAD requests; `metrics`: only GET /metrics',
    }),
    organization: Type.Union(
      [Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String() }), Type.Null()],
      {
        description: 'The one organization the token reaches, or null for everything its user may do',
      },
    ),
  },
  { title: 'ApiToken' },
);

export const Invitation = Type.Object(
  {
    id: Type.String(),
    organizationId: Type.String(),
    email: Type.String(),
    role: Role,
    invitedBy: Type.String(),
    createdAt: DateTime,
    expiresAt: DateTime,
    expired: Type.Boolean(),
    mailed: Type.Boolean({ description: 'Whether the invitation email reached the mail server' }),
    mailError: Type.Union([Type.String(), Type.Null()], { description: 'Why mailing failed (platform admins only)' }),
  },
  { title: 'Invitation' },
);

export const OrganizationRef = Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String() });

export const MyInvitation = Type.Object(
  { id: Type.String(), organization: OrganizationRef, role: Role, invitedBy: Type.String(), expiresAt: DateTime },
  { title: 'MyInvitation' },
);

/** What the holder of an invitation link learns before accepting it. */
export const InvitationPreview = Type.Object({
  email: Type.String(),
  role: Role,
  organization: Type.Object({ slug: Type.String(), name: Type.String() }),
  invitedBy: Type.String(),
  expiresAt: DateTime,
  // Whether to ask for the account's current password, or for a new one.
  accountExists: Type.Boolean(),
});

/** The account and the organization it joined by accepting an invitation. */
export const InvitationAccepted = Type.Object({
  user: User,
  organization: Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String(), role: Role }),
});

/** Accepting with the link signs in: a session start plus the organization joined. */
export const InvitationAcceptedSession = Type.Object({
  user: User,
  organization: InvitationAccepted.properties.organization,
  csrfToken: SessionStart.properties.csrfToken,
  expiresAt: DateTime,
});

/** An account as platform admins manage it. */
export const Account = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Type.String(),
    isPlatformAdmin: Type.Boolean(),
    createdAt: DateTime,
    disabled: Type.Boolean(),
    disabledAt: Type.Union([DateTime, Type.Null()]),
    organizationCount: Type.Integer(),
  },
  { title: 'Account' },
);
