import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeNamespace, requireDocker, testNamespace } from './helpers/docker.js';
import {
  type CliResult,
  cliMarinaEnv,
  marina,
  requireBuild,
  type Server,
  setUpAcmeWithCli,
  startServer,
} from './helpers/process.js';
import { type S3TestServer, startS3Server } from './helpers/s3-server.js';
import { type SftpTestServer, startSftpServer } from './helpers/sftp-server.js';

/**
 * `marina destinations …` and `marina schedules …` with the real `marina` process, against a real
 * SFTP server (sshd on loopback), the S3 stand-in, Docker, PostgreSQL and the Odoo stand-in.
 */
const namespace = testNamespace();
let dir: string;
let env: NodeJS.ProcessEnv;
let url: string;
let server: Server;
let s3: S3TestServer;
let sftp: SftpTestServer;
let instanceId: string;
const PASSWORD = 'correct horse battery staple';
const PASSPHRASE = 'an offsite passphrase 4b9e1d';
const INSTANCE = 'acme/erp/main';
/** Everything the CLI printed: no secret may be in any of it. */
const printed: string[] = [];

async function cli(args: string[], input?: string): Promise<CliResult> {
  const result = await marina(args, env, input);
  printed.push(result.stdout, result.stderr);
  return result;
}

/** The command succeeded; its output is the assertion message otherwise. */
async function ok(args: string[], input?: string): Promise<CliResult> {
  const result = await cli(args, input);
  expect(result.code, `marina ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse((await ok([...args, '--json'])).stdout) as T;
}

beforeAll(async () => {
  requireBuild();
  await requireDocker();
  s3 = await startS3Server();
  sftp = await startSftpServer();
  ({ dir, url, env } = await cliMarinaEnv(namespace, 'marina-offsite-cli-'));
  // The test runs the schedule itself; the scheduler's own timer stays out of the way.
  env.MARINA_SCHEDULER_INTERVAL_S = '3600';
  server = startServer(env);
  await server.waitFor('Marina is listening');
  await setUpAcmeWithCli(env, url, PASSWORD);
  // s3rver and sshd listen on loopback, an internal range only a platform admin can allow.
  expect((await ok(['outbound', '--allow', '127.0.0.0/8'])).stdout).toContain('127.0.0.0/8');
  await ok(['instances', 'create', 'main', '--project', 'acme/erp', '--admin-login', 'a@acme.test', '--memory', '768']);
  instanceId = (await json<{ id: string; name: string }[]>(['instances', 'ls'])).find((i) => i.name === 'main')
    ?.id as string;
  await writeFile(join(dir, 's3-secret'), `${s3.secretAccessKey}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'sftp-key'), sftp.privateKey, { mode: 0o600 });
}, 240_000);

afterAll(async () => {
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  await removeNamespace(namespace);
  await s3?.stop();
  await sftp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('marina destinations', () => {
  it('adds S3 (secret from a file, passphrase on stdin) and SFTP (key file), tests them and lists them', {
    timeout: 120_000,
  }, async () => {
    const bucket = await ok(
      [
        'destinations',
        'add',
        'bucket',
        '--org',
        'acme',
        '--s3',
        '--endpoint',
        s3.endpoint,
        '--bucket',
        s3.bucket,
        '--prefix',
        'marina/acme',
        '--path-style',
        '--access-key-id',
        s3.accessKeyId,
        '--secret-access-key-file',
        join(dir, 's3-secret'),
        '--encrypt',
      ],
      `${PASSPHRASE}\n`,
    );
    expect(bucket.stdout).toContain('Added S3 destination "bucket"');
    expect(bucket.stdout).toContain('encrypted');
    expect(bucket.stdout).toContain('Connection test passed');
    expect(bucket.stdout).toMatch(/✓ connect +\d+ ms/);
    expect(bucket.stdout).toMatch(/✓ delete +\d+ ms/);

    const box = await ok([
      'destinations',
      'add',
      'box',
      '--org',
      'acme',
      '--sftp',
      '--host',
      sftp.host,
      '--port',
      String(sftp.port),
      '--user',
      sftp.username,
      '--folder',
      'backups',
      '--private-key-file',
      join(dir, 'sftp-key'),
    ]);
    expect(box.stdout).toContain('Connection test passed');
    // Adding it ran the test on the server and pinned the key then.
    expect(box.stdout).toContain(`host key ${sftp.fingerprint}`);

    // Tested again: the key is pinned already, and matches.
    const again = await ok(['destinations', 'test', 'box', '--org', 'acme']);
    expect(again.stdout).toContain(`host key ${sftp.fingerprint}`);
    expect(again.stdout).not.toContain('pinned now');
    expect(again.stdout).toMatch(/✓ write +\d+ ms/);

    const listed = await ok(['destinations', 'ls', '--org', 'acme']);
    expect(listed.stdout).toMatch(new RegExp(`bucket +acme +s3 +${s3.bucket}/marina/acme @ `));
    expect(listed.stdout).toMatch(new RegExp(`box +acme +sftp +${sftp.username}@${sftp.host}:${sftp.port}/backups`));
    expect(listed.stdout).toContain(sftp.fingerprint);
    const rows = await json<{ name: string; encrypted: boolean; secretsSet: string[] }[]>([
      'destinations',
      'ls',
      '--org',
      'acme',
    ]);
    expect(rows.map((d) => [d.name, d.encrypted, [...d.secretsSet].sort()])).toEqual([
      ['box', false, ['privateKey']],
      ['bucket', true, ['encryptionPassphrase', 'secretAccessKey']],
    ]);
  });

  it('says precisely why a test failed (exit 1), and removes a destination only when told to', {
    timeout: 180_000,
  }, async () => {
    // A port nobody listens on: the connection is refused. (Every destination is tested as it is
    // added, and not added when it fails, unless --save-anyway.)
    const added = await ok([
      'destinations',
      'add',
      'nowhere',
      '--org',
      'acme',
      '--s3',
      '--endpoint',
      'http://127.0.0.1:1',
      '--bucket',
      'nothing',
      '--path-style',
      '--access-key-id',
      'AKIANOBODY',
      '--secret-access-key-file',
      join(dir, 's3-secret'),
      '--save-anyway',
    ]);
    // The server tested it before saving; told to, it saved it anyway, marked unhealthy.
    expect(added.stdout).toContain('Connection test FAILED (saved anyway, marked unhealthy)');
    const failed = await cli(['destinations', 'test', 'nowhere', '--org', 'acme']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/✗ connect +\d+ ms/);
    expect(failed.stdout).toMatch(/✗ connect: /);
    expect(failed.stderr).toMatch(/connection test of "nowhere" failed \(connect\)/);

    const unconfirmed = await cli(['destinations', 'rm', 'nowhere', '--org', 'acme']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('Not removed');
    expect((await ok(['destinations', 'rm', 'nowhere', '--org', 'acme', '--yes'])).stdout).toContain(
      'Removed destination "nowhere"',
    );
    const names = (await json<{ name: string }[]>(['destinations', 'ls'])).map((d) => d.name);
    expect(names).toEqual(['box', 'bucket']);
  });
});

describe('marina schedules', () => {
  it('refuses bad input with exit code 2 and a clear message, and changes nothing', { timeout: 180_000 }, async () => {
    const cases: [string[], RegExp, string?][] = [
      [['schedules', 'set', INSTANCE, '--daily', '25:00'], /--daily: "25:00" is not a time: give HH:MM/],
      [['schedules', 'set', INSTANCE, '--weekly', 'xyz@02:00'], /--weekly: "xyz" is not a weekday/],
      [['schedules', 'set', INSTANCE, '--weekly', 'sun'], /--weekly: "sun" is not DAY@HH:MM/],
      [['schedules', 'set', INSTANCE, '--monthly', '32@02:00'], /--monthly \(day\): "32" is not a whole number/],
      [['schedules', 'set', INSTANCE, '--cron', '0 3 * *'], /--cron: .* has 4 field\(s\); give 5/],
      [['schedules', 'set', INSTANCE, '--daily', '02:00', '--tz', 'Mars/Olympus'], /not a known IANA time zone/],
      [['schedules', 'set', INSTANCE, '--daily', '02:00', '--weekly', 'sun@02:00'], /not --daily and --weekly/],
      [['schedules', 'set', INSTANCE, '--daily', '02:00', '--keep-last', '-1'], /--keep-last: "-1" is not a whole/],
      [['schedules', 'set', INSTANCE, '--daily', '02:00', '--verify-every', '91'], /--verify-every: "91"/],
      [['schedules', 'set', INSTANCE, '--daily', '02:00', '--to', 'nowhere'], /No destination "nowhere"/],
      [['schedules', 'set', INSTANCE, '--daily', '02:00', '--kind', 'everything'], /Allowed choices are full/],
      [['schedules', 'set', INSTANCE], /has no schedule yet: say when/],
      // The server's own check, past the CLI's: a cron that runs every 5 minutes.
      [['schedules', 'set', INSTANCE, '--cron', '*/5 * * * *'], /at most every 15 minutes/],
      [['destinations', 'add', 'x', '--org', 'acme', '--s3', '--bucket', 'Bad_Bucket'], /--bucket: "Bad_Bucket"/],
      [
        ['destinations', 'add', 'x', '--org', 'acme', '--sftp', '--host', 'h.example', '--user', 'u'],
        /No password given: .* or use --private-key-file/,
      ],
      [['destinations', 'add', 'x', '--org', 'acme', '--s3', '--sftp'], /--s3 or --sftp/],
      [['destinations', 'add', 'x', '--s3', '--bucket', 'okbucket'], /--org ORGANIZATION, or --platform/],
      [
        ['destinations', 'add', 'x', '--org', 'acme', '--sftp', '--host', 'h.example', '--user', 'u', '--encrypt'],
        /Standard input gave the password already; for the encryption passphrase, use --passphrase-file/,
        'a password\n',
      ],
      [
        [
          ...['destinations', 'add', 'x', '--org', 'acme', '--sftp', '--host', 'h.example', '--user', 'u'],
          ...['--private-key-file', 'KEY', '--encrypt', '--passphrase-file', 'SHORT'],
        ],
        /12 to 1000 characters/,
      ],
    ];
    await writeFile(join(dir, 'short'), 'short\n');
    for (const [given, message, input] of cases) {
      const args = given.map((a) => (a === 'KEY' ? join(dir, 'sftp-key') : a === 'SHORT' ? join(dir, 'short') : a));
      const result = await cli(args, input);
      expect(result.code, `marina ${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    const shown = await ok(['schedules', 'show', INSTANCE]);
    expect(shown.stdout).toContain('has no schedule');
    expect(JSON.parse((await ok(['schedules', 'show', INSTANCE, '--json'])).stdout)).toBeNull();
    expect((await json<unknown[]>(['destinations', 'ls'])).length).toBe(2);
  });

  it('sets a schedule and shows it with its next run; a change keeps what it does not name', {
    timeout: 180_000,
  }, async () => {
    const set = await ok([
      'schedules',
      'set',
      INSTANCE,
      '--daily',
      '2:30',
      '--tz',
      'Europe/Brussels',
      '--format',
      'native',
      '--to',
      'bucket',
      '--to',
      'box',
      '--keep-last',
      '3',
      '--verify-every',
      '7',
    ]);
    expect(set.stdout).toContain('every day at 02:30 (Europe/Brussels)');
    expect(set.stdout).toMatch(/next run: +\d{4}-\d\d-\d\d 02:30 Europe\/Brussels.*, in \d+/);
    expect(set.stdout).toContain('bucket, box');

    const shown = await ok(['schedules', 'show', INSTANCE]);
    expect(shown.stdout).toMatch(/enabled: +yes/);
    expect(shown.stdout).toMatch(/backup: +full, native/);
    expect(shown.stdout).toMatch(/retention: +local: last 3, daily 7, weekly 4, monthly 3/);
    expect(shown.stdout).toMatch(/bucket: as local/);
    expect(shown.stdout).toMatch(/next run: +\d{4}-\d\d-\d\d 02:30 Europe\/Brussels/);
    expect(shown.stdout).toMatch(/last run: +never/);
    expect(shown.stdout).toMatch(/verification: +a test restore every 7 day/);

    await ok(['schedules', 'set', INSTANCE, '--weekly', 'sun@03:15']);
    const schedule = await json<{
      enabled: boolean;
      spec: Record<string, unknown>;
      destinationIds: string[];
      retention: { local: { last: number } };
      verifyEveryDays: number;
      nextRunAt: string;
    }>(['schedules', 'show', INSTANCE]);
    expect(schedule.spec).toEqual({ kind: 'weekly', weekday: 7, time: '03:15', timeZone: 'Europe/Brussels' });
    expect(schedule.destinationIds).toHaveLength(2);
    expect(schedule.retention.local.last).toBe(3);
    expect(schedule.verifyEveryDays).toBe(7);
    expect(new Date(schedule.nextRunAt).getTime()).toBeGreaterThan(Date.now());
    expect(schedule.nextRunAt).toMatch(/T0[12]:15:00/);

    const disabled = await ok(['schedules', 'set', INSTANCE, '--disable']);
    expect(disabled.stdout).toMatch(/enabled: +no/);
    expect(disabled.stdout).toMatch(/next run: +none/);
    await ok(['schedules', 'set', INSTANCE, '--enable']);
  });

  it('refuses to remove a destination a schedule uses', { timeout: 120_000 }, async () => {
    const refused = await cli(['destinations', 'rm', 'box', '--org', 'acme', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/schedule still sends copies to "box"/);
    expect((await json<{ name: string }[]>(['destinations', 'ls'])).map((d) => d.name)).toContain('box');
  });

  it('runs the schedule now: the backup and both copies are verified, and the run is in the history', {
    timeout: 240_000,
  }, async () => {
    const run = await ok(['schedules', 'run', INSTANCE]);
    expect(run.stderr).toMatch(/100%/);
    expect(run.stdout).toMatch(/✓ bucket: verified \(encrypted\)/);
    expect(run.stdout).toMatch(/✓ box: verified/);
    expect(run.stdout).toContain('Done.');

    const [latest] = await json<
      { id: string; trigger: string; status: string; sha256: string; problem: boolean; copies: { status: string }[] }[]
    >(['schedules', 'history', INSTANCE]);
    expect(latest).toMatchObject({ trigger: 'schedule', status: 'completed', problem: false });
    expect(latest?.copies.map((c) => c.status)).toEqual(['verified', 'verified']);
    const remote = await readFile(join(sftp.home, 'backups', instanceId, `${latest?.id}.tar.zst`));
    expect(createHash('sha256').update(remote).digest('hex')).toBe(latest?.sha256);

    const history = await ok(['schedules', 'history', INSTANCE]);
    expect(history.stdout).toMatch(/schedule +completed .* (bucket ✓ box ✓|box ✓ bucket ✓)/);
    expect((await ok(['schedules', 'history', INSTANCE, '--problems'])).stdout).toContain('(none)');
    expect((await ok(['schedules', 'show', INSTANCE])).stdout).toMatch(/last run: +\d{4}-.*ago/);
    const used = await json<{ name: string; copies: number }[]>(['destinations', 'ls', '--org', 'acme']);
    expect(used.map((d) => [d.name, d.copies])).toEqual([
      ['box', 1],
      ['bucket', 1],
    ]);
  });

  it('never printed a secret', () => {
    const output = printed.join('\n');
    const keyBody = sftp.privateKey.split('\n').filter((l) => l.length > 40);
    expect(keyBody.length).toBeGreaterThan(0);
    for (const line of keyBody) expect(output).not.toContain(line);
    expect(output).not.toContain(PASSPHRASE);
    if (s3.secretAccessKey !== s3.accessKeyId) expect(output).not.toContain(s3.secretAccessKey);
  });
});
