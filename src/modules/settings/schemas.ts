import { Type } from 'typebox';
import { DateTime } from '../../platform/http/schemas.js';

/** The shapes of platform settings in the API; the services return these. */

export const Security = Type.Union([Type.Literal('none'), Type.Literal('starttls'), Type.Literal('tls')], {
  description: '"tls": TLS from the start (usually port 465); "starttls": upgrade, required (587); "none": plain',
});

export const SmtpSettings = Type.Object(
  {
    host: Type.String(),
    port: Type.Integer(),
    security: Security,
    username: Type.Union([Type.String(), Type.Null()]),
    from: Type.String(),
    passwordSet: Type.Boolean({ description: 'Whether a password is stored; the password itself is never shown.' }),
    updatedBy: Type.String(),
    updatedAt: DateTime,
  },
  { title: 'SmtpSettings' },
);

/** The internal address ranges the outbound guard lets through. */
export const OutboundSettings = Type.Object(
  {
    allowedRanges: Type.Array(Type.String(), {
      description:
        'Internal address ranges (CIDR) S3 endpoints, SFTP hosts and git remotes may use; everything else internal is refused',
    }),
  },
  { title: 'OutboundSettings' },
);
