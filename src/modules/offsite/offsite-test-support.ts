import { afterAll, beforeAll, expect } from 'vitest';
import { as, type Browser, SCHEDULE_CALENDAR_START, signIn, type TestApp } from '../../../test/helpers/app.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { type S3TestServer, startS3Server } from '../../../test/helpers/s3-server.js';
import { type SftpTestServer, startSftpServer } from '../../../test/helpers/sftp-server.js';
import { withClient } from '../../adapters/postgres/admin.js';

/**
 * Offsite copies, schedules and retention against a real SFTP server (Debian's sshd on loopback),
 * the S3 stand-in (s3rver) with the real AWS SDK, Docker, PostgreSQL and the Odoo stand-in. The
 * scheduler runs on the test's clock: no sleeping for schedules.
 */
export const namespace = testNamespace();
export let t: TestApp;
export let admin: Browser;
export let baseUrl: string;
export let headers: Record<string, string>;
export let instance: { id: string; url: string; name: string; dbName: string };
export let s3: S3TestServer;
export let sftp: SftpTestServer;
export const PASSPHRASE = 'a long encryption passphrase 7f3a9c';
export const SPARE_SECRET = 'spare-secret-9Qx7LmZ2vT4';
/** Every body Marina answered with: no secret may be in any of them. */
export const answers: string[] = [];

export const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) => {
  const response = await as(t, admin)(method, url, payload);
  answers.push(response.body);
  return response;
};

/** Moves the test's clock; a session idle for days has expired, so the admin signs in again. */
export async function advance(minutes: number): Promise<void> {
  t.clock.advanceMinutes(minutes);
  admin = await signIn(t.app, 'admin@example.com');
  headers = { cookie: admin.cookie, 'x-marina-csrf': admin.csrf };
}

export async function sql<T extends Record<string, unknown>>(text: string): Promise<T[]> {
  // As the tenant's own role, as the tenant would: backups read the database as that role.
  const connection = await t.services.databaseServers.forInstance(await t.services.instances.row(instance.id));
  return withClient(connection, instance.dbName, async (c) => (await c.query(text)).rows as T[]);
}

export async function succeeded(jobId: string, timeoutMs = 180_000) {
  const { job, logs } = await followJob(baseUrl, headers, jobId, timeoutMs);
  expect(job.error, logs.join('\n')).toBeNull();
  expect(job.status).toBe('succeeded');
  return job;
}

export async function getBackup(id: string) {
  return (await call('GET', `/api/v1/backups/${id}`)).json().backup as {
    id: string;
    sha256: string;
    sizeBytes: number;
    status: string;
    localStatus: string;
    file: string;
    copies: { destinationId: string; status: string; attempts: number; error: string | null; encrypted: boolean }[];
    verification: { status: string; modules: number | null } | null;
  };
}

/** Made on first use and shared after: each test that needs it runs alone too (`-t`). */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

/** The S3 destination (encrypted) and the SFTP one of acme, as the first test adds them. */
export const theDestinations = once(async () => {
  const acme = (await call('GET', '/api/v1/organizations/acme')).json().organization;
  const s3Made = await call('POST', '/api/v1/destinations', {
    organizationId: acme.id,
    name: 'bucket',
    kind: 's3',
    s3: {
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: s3.bucket,
      prefix: 'marina/acme',
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
    encryption: { passphrase: PASSPHRASE },
  });
  const sftpMade = await call('POST', '/api/v1/destinations', {
    organizationId: acme.id,
    name: 'storage box',
    kind: 'sftp',
    sftp: {
      host: sftp.host,
      port: sftp.port,
      username: sftp.username,
      folder: 'backups',
      privateKey: sftp.privateKey,
    },
  });
  const s3Destination: { id: string } = s3Made.json().destination;
  const sftpDestination: { id: string } = sftpMade.json().destination;
  return { s3Made, sftpMade, s3Destination, sftpDestination };
});

/** Starts s3rver, sshd and Marina in Docker (on the test's clock) with one stand-in instance, and stops them after. */
export function startMarinaWithStorageServers(): void {
  beforeAll(async () => {
    await requireDocker();
    s3 = await startS3Server();
    sftp = await startSftpServer();
    ({ t, admin, baseUrl, headers } = await startDockerMarina(
      namespace,
      {
        MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
        MARINA_UPLOAD_RETRY_DELAYS: '0.5,0.5,1,1,2',
        // The test drives the scheduler with its own clock; the timer must not fire in between.
        MARINA_SCHEDULER_INTERVAL_S: '3600',
        MARINA_TEST_CAPTURE_LOGS: '1',
      },
      { clockStart: SCHEDULE_CALENDAR_START },
    ));
    ({ instance } = await provisionInstance({ t, admin, baseUrl, headers }));
    // s3rver and sshd listen on loopback, an internal range only a platform admin can allow.
    const allowed = await as(t, admin)('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] });
    expect(allowed.statusCode, allowed.body).toBe(200);
  }, 240_000);
  afterAll(async () => {
    await t?.close();
    await removeNamespace(namespace);
    await s3?.stop();
    await sftp?.stop();
  });
}
