import { Type } from 'typebox';
import { DateTime, Nullable, Uuid } from '../../platform/http/schemas.js';

export const MailMode = Type.Union([Type.Literal('platform'), Type.Literal('own'), Type.Literal('catcher')], {
  title: 'MailMode',
  description:
    "platform: the platform's SMTP relay (Settings); own: the organization's own SMTP server; catcher: Marina's mail catcher (staging and development only, nothing leaves)",
});

export const ownServerLimits = { host: 253, username: 256, password: 256 } as const;

export const OwnSmtpSecurity = Type.Union([Type.Literal('starttls'), Type.Literal('tls'), Type.Literal('none')]);

/** The customer's own server as written: the password is write-only (kept when omitted). */
export const OwnServerInput = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: ownServerLimits.host }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    security: OwnSmtpSecurity,
    username: Type.String({ maxLength: ownServerLimits.username }),
    password: Type.Optional(Type.String({ maxLength: ownServerLimits.password })),
  },
  { additionalProperties: false },
);

export const MailServerInput = Type.Object(
  { mode: MailMode, own: Type.Optional(OwnServerInput) },
  { additionalProperties: false },
);

export const MailServer = Type.Object(
  {
    mode: MailMode,
    /** false: nothing chosen yet; Marina leaves the outgoing servers Odoo has alone (production). */
    configured: Type.Boolean(),
    own: Nullable(
      Type.Object({
        host: Type.String(),
        port: Type.Integer(),
        security: OwnSmtpSecurity,
        username: Type.String(),
        passwordSet: Type.Boolean(),
      }),
    ),
    /** Whether the catcher may be chosen for this instance (not production, and the catcher runs). */
    catcherAvailable: Type.Boolean(),
    /** Whether the platform has an SMTP relay set. */
    platformConfigured: Type.Boolean(),
  },
  { title: 'MailServer' },
);

export const MailSummary = Type.Object(
  {
    id: Uuid,
    receivedAt: DateTime,
    envelopeFrom: Nullable(Type.String()),
    envelopeTo: Type.Array(Type.String()),
    subject: Type.String(),
    from: Type.String(),
    to: Type.String(),
    sizeBytes: Type.Integer(),
    hasHtml: Type.Boolean(),
    attachmentCount: Type.Integer(),
  },
  { title: 'CaughtMail' },
);

export const MailAttachment = Type.Object({
  index: Type.Integer(),
  filename: Type.String(),
  contentType: Type.String(),
  sizeBytes: Type.Integer(),
});

export const MailDetail = Type.Object(
  {
    ...MailSummary.properties,
    headers: Type.Array(Type.Object({ name: Type.String(), value: Type.String() })),
    text: Type.String(),
    attachments: Type.Array(MailAttachment),
  },
  { title: 'CaughtMailDetail' },
);

export const MailPage = Type.Object({
  mails: Type.Array(MailSummary),
  total: Type.Integer(),
  nextCursor: Nullable(Type.String()),
});
