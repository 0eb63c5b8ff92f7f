import { Type } from 'typebox';
import { DateTime, Nullable } from '../../platform/http/schemas.js';

export const DnsRecord = Type.Object(
  {
    type: Type.Union([Type.Literal('CNAME'), Type.Literal('TXT'), Type.Literal('A'), Type.Literal('AAAA')]),
    name: Type.String(),
    value: Type.String(),
  },
  { title: 'DnsRecord' },
);

/** What the edge serves for a name, from a real TLS handshake (src/modules/edge/certificate-probe.ts). */
export const CertificateState = Type.Object(
  {
    issuer: Type.Optional(Type.String()),
    subject: Type.Optional(Type.String()),
    notAfter: Type.Optional(Type.String()),
    checkedAt: Type.String(),
    error: Type.Optional(Type.String()),
  },
  { title: 'CertificateState' },
);

export const DomainMethodSchema = Type.Union([Type.Literal('cname'), Type.Literal('txt'), Type.Literal('apex')]);

export const Domain = Type.Object(
  {
    id: Type.String(),
    instanceId: Type.String(),
    hostname: Type.String({ description: 'The IDNA ASCII form, lower case' }),
    displayName: Type.String({ description: 'The Unicode form, to show' }),
    method: DomainMethodSchema,
    status: Type.Union([Type.Literal('pending'), Type.Literal('verified'), Type.Literal('failed')]),
    isPrimary: Type.Boolean(),
    records: Type.Array(DnsRecord, { description: 'The DNS records to create' }),
    found: Nullable(
      Type.Object({
        checkedAt: Type.String(),
        records: Type.Array(DnsRecord),
        error: Type.Optional(Type.String()),
      }),
    ),
    lastError: Nullable(Type.String()),
    lastCheckAt: Nullable(DateTime),
    nextCheckAt: Nullable(DateTime),
    verifiedAt: Nullable(DateTime),
    certificate: Nullable(CertificateState),
    ownCertificate: Nullable(Type.Object({ subject: Type.String(), issuer: Type.String(), notAfter: Type.String() })),
    createdAt: DateTime,
  },
  { title: 'Domain' },
);

export const InstanceDomains = Type.Object(
  {
    edge: Type.Boolean(),
    platform: Nullable(
      Type.Object({ hostname: Type.String(), url: Type.String(), certificate: Nullable(CertificateState) }),
    ),
    proxyAddresses: Type.Array(Type.String()),
    domains: Type.Array(Domain),
  },
  { title: 'InstanceDomains' },
);

export const Protection = Type.Object(
  {
    kind: Type.Union([Type.Literal('none'), Type.Literal('basic'), Type.Literal('allow')]),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String({ description: 'Only in the answer that set it' })),
    addresses: Type.Optional(Type.Array(Type.String())),
  },
  { title: 'Protection' },
);
