import { describe, expect, it } from 'vitest';
import {
  docker,
  dockerOk,
  first,
  NETWORK,
  PG,
  PG_DB,
  PG_PASSWORD,
  PG_USER,
  POSTGRES_IMAGE,
  PREFIX,
  query,
  type Run,
  startTestPostgres,
  until,
  waitExit,
} from './images-test-support.js';

startTestPostgres();

describe('marina-test/postgres:15', () => {
  /** psql from a second container on the same user-defined network. */
  function psql(password: string, sqlText: string): Promise<Run> {
    return docker([
      'run',
      '--rm',
      '--name',
      `${PREFIX}-psql-${Math.random().toString(36).slice(2, 8)}`,
      '--network',
      NETWORK,
      '-e',
      `PGPASSWORD=${password}`,
      POSTGRES_IMAGE,
      'psql',
      '-h',
      PG,
      '-U',
      PG_USER,
      '-d',
      PG_DB,
      '-Atc',
      sqlText,
    ]);
  }

  it('creates POSTGRES_USER and POSTGRES_DB and answers psql from another container', async () => {
    const run = await psql(
      PG_PASSWORD,
      'SELECT current_user, current_database(), rolsuper FROM pg_roles WHERE rolname = current_user',
    );
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(`${PG_USER}|${PG_DB}|t`);
  });

  it('enforces password authentication (scram-sha-256) for host connections', async () => {
    const wrong = await psql('not-the-password', 'SELECT 1');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(`password authentication failed for user "${PG_USER}"`);
    const rows = await query<{ rolpassword: string }>(PG_DB, 'SELECT rolpassword FROM pg_authid WHERE rolname = $1', [
      PG_USER,
    ]);
    expect(first(rows, 'role').rolpassword).toMatch(/^SCRAM-SHA-256\$/);
    const hba = await dockerOk(['exec', PG, 'tail', '-n', '1', '/var/lib/postgresql/data/pg_hba.conf']);
    expect(hba.stdout.trim()).toBe('host all all all scram-sha-256');
  });

  it('runs as the postgres user, keeps PGDATA in /var/lib/postgresql/data, carries the client tools', async () => {
    const run = await dockerOk([
      'exec',
      PG,
      'bash',
      '-c',
      'id -un; ps -o user= -p 1 2>/dev/null || stat -c %U /proc/1; cat "$PGDATA/PG_VERSION"; pg_dump --version; psql --version; pg_isready -h 127.0.0.1',
    ]);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe('root'); // docker exec runs as root; the server itself (pid 1) as postgres
    expect(lines[1]).toBe('postgres');
    expect(lines[2]).toBe('15');
    expect(lines[3]).toMatch(/^pg_dump \(PostgreSQL\) 15\./);
    expect(lines[4]).toMatch(/^psql \(PostgreSQL\) 15\./);
    expect(lines[5]).toContain('accepting connections');
  });

  it('refuses to initialise without POSTGRES_PASSWORD, like the official image', async () => {
    const run = await docker(['run', '--rm', '--name', `${PREFIX}-nopw`, POSTGRES_IMAGE]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('superuser password is not specified');
  });

  it('stops gracefully and quickly on docker stop (exit 0, data kept)', async () => {
    const name = `${PREFIX}-pgstop`;
    await dockerOk([
      'run',
      '-d',
      '--name',
      name,
      '-e',
      'POSTGRES_HOST_AUTH_METHOD=trust',
      '-v',
      `${PREFIX}-pgstop:/var/lib/postgresql/data`,
      POSTGRES_IMAGE,
    ]);
    await until('the second server', 60_000, async () => {
      const run = await docker(['exec', name, 'pg_isready', '-h', '127.0.0.1', '-q']);
      return run.code === 0 ? true : undefined;
    });
    // an open session must not delay the stop (fast shutdown disconnects it)
    await dockerOk(['exec', '-d', name, 'psql', '-U', 'postgres', '-h', '127.0.0.1', '-c', 'SELECT pg_sleep(60)']);
    const started = Date.now();
    await dockerOk(['stop', '-t', '30', name]);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await waitExit(name)).toBe(0);
    const logs = await dockerOk(['logs', name]);
    expect(`${logs.stdout}${logs.stderr}`).toContain('database system is shut down');
  }, 90_000);
});
