import { Type } from 'typebox';

export const SeriesRange = Type.Union([Type.Literal('24h'), Type.Literal('7d'), Type.Literal('30d')], {
  description: '24h: a point per minute; 7d and 30d: a point per hour',
});

export const SeriesQuery = Type.Object({ range: Type.Optional(SeriesRange) }, { additionalProperties: false });

const values = (description: string) => Type.Array(Type.Union([Type.Number(), Type.Null()]), { description });
const Head = {
  range: SeriesRange,
  /** Seconds between two points when none is missing. */
  step: Type.Integer({ description: 'Seconds between points (60 or 3600); a larger gap means no sample' }),
  from: Type.Integer({ description: 'Start of the range, Unix seconds' }),
  to: Type.Integer({ description: 'End of the range (now), Unix seconds' }),
  t: Type.Array(Type.Integer(), { description: 'Unix seconds of each point: the start of its minute or hour' }),
};

export const InstanceSeries = Type.Object(
  {
    ...Head,
    cpu: values('CPU in milli-cores (hourly: the average)'),
    cpuMax: Type.Union([values('CPU of the busiest minute'), Type.Null()], {
      description: 'Hourly: the busiest minute; null for 24h',
    }),
    memory: values('Memory in bytes (hourly: the average)'),
    memoryMax: Type.Union([values('Memory of the highest minute'), Type.Null()], {
      description: 'Hourly: the highest minute; null for 24h',
    }),
    memoryLimit: values('Memory limit in bytes'),
    requests: values('HTTP requests per minute (hourly: the average per sampled minute)'),
    p50: values('Median response time, ms (hourly: the average)'),
    p95: values('95th percentile response time, ms (hourly: the worst minute)'),
    database: values('Database size, bytes'),
    filestore: values('Filestore size, bytes'),
  },
  { title: 'InstanceSeries', additionalProperties: false },
);

export const OrganizationStorageSeries = Type.Object(
  {
    ...Head,
    storage: Type.Array(Type.Number(), { description: 'Databases and filestores of its instances, bytes' }),
    quota: values("The plan's storage quota then, bytes; null: no quota"),
  },
  { title: 'OrganizationStorageSeries', additionalProperties: false },
);
