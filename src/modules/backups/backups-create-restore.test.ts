import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { zstdCompressSync } from 'node:zlib';
import pg from 'pg';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { as, memberBrowser } from '../../../test/helpers/app.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { zstdFramesDecompress } from '../../adapters/archive/zstd-frames.js';
import {
  addFilestoreFile,
  admin,
  backup,
  baseUrl,
  filestoreFiles,
  headers,
  instance,
  makeZip,
  once,
  onVolume,
  param,
  projectId,
  sql,
  startMarinaWithStandinInstance,
  t,
  upload,
  zipEntries,
} from './backups-test-support.js';

startMarinaWithStandinInstance();

describe('backups (stand-in Odoo)', () => {
  type Made = { id: string; sha256: string; sizeBytes: number; jobLogs: string[] };
  const theZipBackup = once((): Promise<Made> => backup('full', 'zip'));
  /** A native backup of the instance, with a filestore file added just before it. */
  const theNativeBackup = once(async () => {
    const keptFile = await addFilestoreFile('an attachment the restore finds unchanged');
    return { keptFile, nativeBackup: (await backup('full', 'native')) as Made };
  });

  it("writes a zip in Odoo's own format: manifest with installed modules, dump.sql, filestore", async () => {
    const zipBackup = await theZipBackup();
    expect(zipBackup).toMatchObject({ status: 'completed', kind: 'full', format: 'zip', trigger: 'manual' });
    const download = await as(t, admin)('GET', `/api/v1/backups/${zipBackup.id}/download`);
    expect(download.statusCode).toBe(200);
    expect(download.headers['accept-ranges']).toBe('bytes');
    const body = download.rawPayload;
    expect(body.length).toBe(zipBackup.sizeBytes);
    expect(createHash('sha256').update(body).digest('hex')).toBe(zipBackup.sha256);
    const entries = await zipEntries(body);
    const manifest = JSON.parse(entries.get('manifest.json')?.toString() ?? '{}');
    expect(manifest).toMatchObject({
      odoo_dump: '1',
      db_name: instance.dbName,
      version: '17.0',
      major_version: '17.0',
    });
    expect(manifest.version_info).toEqual([17, 0, 0, 'final', 0, '']);
    expect(manifest.pg_version).toMatch(/^15\.\d+$/);
    expect(Object.keys(manifest.modules)).toContain('base');
    expect(entries.get('dump.sql')?.toString()).toContain('CREATE TABLE public.ir_module_module');
    expect(entries.get('dump.sql')?.toString()).not.toMatch(/OWNER TO/);
    expect([...entries.keys()].some((name) => /^filestore\/[0-9a-f]{2}\/[0-9a-f]{40}$/.test(name))).toBe(true);
  });

  it('serves byte ranges of a download (resumable), and refuses a range past the end', async () => {
    const zipBackup = await theZipBackup();
    const part = await as(t, admin)('GET', `/api/v1/backups/${zipBackup.id}/download`);
    const ranged = await t.app.inject({
      method: 'GET',
      url: `/api/v1/backups/${zipBackup.id}/download`,
      headers: { ...headers, range: 'bytes=10-99' },
    });
    expect(ranged.statusCode).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes 10-99/${zipBackup.sizeBytes}`);
    expect(ranged.rawPayload.equals(part.rawPayload.subarray(10, 100))).toBe(true);
    const beyond = await t.app.inject({
      method: 'GET',
      url: `/api/v1/backups/${zipBackup.id}/download`,
      headers: { ...headers, range: `bytes=${zipBackup.sizeBytes + 10}-` },
    });
    expect(beyond.statusCode).toBe(416);
  });

  it('writes a native backup (zstd tar of a parallel pg_dump and the filestore), stored under its id with its checksum', async () => {
    const { nativeBackup } = await theNativeBackup();
    const path = join(t.config.backups.dir, instance.id, `${nativeBackup.id}.tar.zst`);
    const file = await readFile(path);
    expect(file.length).toBe(nativeBackup.sizeBytes);
    expect(createHash('sha256').update(file).digest('hex')).toBe(nativeBackup.sha256);
    // zstd frame magic
    expect(file.subarray(0, 4).toString('hex')).toBe('28b52ffd');
    // Made beside the data by the tools image's tar and zstd: the manifest, the dump, the filestore, in order.
    expect(nativeBackup.jobLogs.join('\n')).toMatch(/pg_dump and the dump's part took/);
    expect(nativeBackup.jobLogs.join('\n')).toMatch(/pg_dump took \d+\.\d s; its folder was archived in \d+\.\d s\./);
    expect(nativeBackup.jobLogs.join('\n')).not.toMatch(/through the engine/);
    const names: string[] = [];
    const extract = tarStream.extract();
    extract.on('entry', (header, stream, next) => {
      names.push(`${header.name} ${header.type} ${(header.mode ?? 0).toString(8)} ${header.uid}`);
      stream.resume();
      stream.on('end', next);
    });
    await pipeline(Readable.from([file]), zstdFramesDecompress(), extract);
    expect(names[0]).toBe('manifest.json file 600 0');
    const firstFile = names.findIndex((n) => n.startsWith('filestore/'));
    expect(names.slice(1, firstFile)).toContain('dump/toc.dat file 600 0');
    expect(names.slice(1, firstFile).every((n) => /^dump\/\S+ file 600 0$/.test(n))).toBe(true);
    expect(names.slice(firstFile).every((n) => /^filestore\/[0-9a-f]{2}\/\S+ file 600 0$/.test(n))).toBe(true);
    const leftovers = (await readdir(join(t.config.backups.dir, instance.id))).filter((n) => n.endsWith('.partial'));
    expect(leftovers).toEqual([]);
  });

  it('restores a native backup over a changed instance: the change is gone, the replaced data kept as the undo', async () => {
    const { keptFile, nativeBackup } = await theNativeBackup();
    await sql(instance.dbName, "update res_partner set name = 'CHANGED AFTER BACKUP'");
    const uuidBefore = await param(instance.dbName, 'database.uuid');
    // The filestore changed too: one file damaged in place (its content no longer matches its
    // name), one added after the backup; one is as the backup has it.
    const before = await filestoreFiles();
    const damaged = Object.keys(before).find((name) => name !== keptFile) ?? '';
    expect(before).toEqual({ [damaged]: true, [keptFile]: true });
    await onVolume('printf damaged > "/data/filestore/$1/$2"', instance.dbName, damaged);
    const added = await addFilestoreFile('an attachment made after the backup');
    expect(await filestoreFiles()).toEqual({ [damaged]: false, [keptFile]: true, [added]: true });

    const restore = await as(t, admin)('POST', `/api/v1/backups/${nativeBackup.id}/restore`, {});
    expect(restore.statusCode).toBe(202);
    const { job, logs } = await followJob(baseUrl, headers, restore.json().job.id, 180_000);
    expect(job.error).toBeNull();
    // The unchanged file is hard-linked, the damaged one written again from the archive; the one
    // added after the backup is gone with the rest of the replaced filestore.
    expect(logs).toContain('Filestore: 1 files written, 1 unchanged files kept from the instance.');
    expect(await filestoreFiles()).toEqual({ [damaged]: true, [keptFile]: true });
    expect(await onVolume('ls -1 /data/filestore')).toBe(`${instance.dbName}\n${instance.dbName}.undo\n`);
    expect(job.steps.map((s) => s.name)).toEqual(['verify', 'load', 'stop', 'swap', 'start', 'health', 'cleanup']);
    const names = await sql<{ name: string }>(instance.dbName, 'select name from res_partner');
    expect(names.some((r) => r.name === 'CHANGED AFTER BACKUP')).toBe(false);
    // Its own backup brings the same database back: not a copy, same identity.
    expect(await param(instance.dbName, 'database.uuid')).toBe(uuidBefore);
    // No safety backup any more: what was replaced is kept beside, as the undo.
    const safety = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}/backups?trigger=pre-restore`)).json()
      .backups;
    expect(safety).toHaveLength(0);
    const health = await fetch(`${instance.url}/web/health`);
    expect(health.status).toBe(200);
    const temp = await sql<{ datname: string }>('postgres', 'select datname from pg_database where datname like $1', [
      `${instance.dbName}_%`,
    ]);
    expect(temp).toEqual([{ datname: `${instance.dbName}_undo` }]);
    // Collated as Odoo creates its databases, whatever the server's default.
    expect(await sql('postgres', 'select datcollate from pg_database where datname = $1', [instance.dbName])).toEqual([
      { datcollate: 'C' },
    ]);
  }, 240_000);

  it('refuses a native archive with a filestore entry that climbs out (filestore/../…): nothing changes', async () => {
    const { nativeBackup } = await theNativeBackup();
    // Marina's own archive with one entry added that would land in the live folder, not the loaded one.
    // Read as restores read it: the archive is written in parts, one zstd frame each.
    const original = await streamToBuffer(
      Readable.from([await readFile(join(t.config.backups.dir, instance.id, `${nativeBackup.id}.tar.zst`))]).pipe(
        zstdFramesDecompress(),
      ),
    );
    const pack = tarStream.pack();
    const extract = tarStream.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on('entry', (header, stream, next) => {
        stream.pipe(pack.entry(header, next));
      });
      extract.on('finish', () => {
        pack.entry({ name: `filestore/../${instance.dbName}/planted`, size: 7, mode: 0o600 }, 'planted');
        pack.finalize();
        resolve();
      });
      extract.on('error', reject);
    });
    Readable.from([original]).pipe(extract);
    const chunks: Buffer[] = [];
    pack.on('data', (chunk) => chunks.push(chunk as Buffer));
    const packed = new Promise<void>((resolve) => pack.on('end', () => resolve()));
    await done;
    await packed;
    const file = zstdCompressSync(Buffer.concat(chunks));
    const id = randomUUID();
    await writeFile(join(t.config.backups.dir, instance.id, `${id}.tar.zst`), file);
    const row = await t.db
      .selectFrom('backups')
      .selectAll()
      .where('id', '=', nativeBackup.id)
      .executeTakeFirstOrThrow();
    await t.db
      .insertInto('backups')
      .values({
        ...row,
        id,
        file_name: `${instance.id}/${id}.tar.zst`,
        sha256: createHash('sha256').update(file).digest('hex'),
        size_bytes: file.length,
        pinned: false,
        manifest: JSON.stringify(row.manifest),
        verification: null,
      })
      .execute();
    await sql(instance.dbName, "update res_partner set name = 'KEPT' where id = 1");

    const restore = await as(t, admin)('POST', `/api/v1/backups/${id}/restore`, {});
    expect(restore.statusCode).toBe(202);
    const { job } = await followJob(baseUrl, headers, restore.json().job.id, 180_000);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'MARINA_E_ARCHIVE_INVALID', step: 'load' });
    expect(job.error?.message).toContain('".." segment');
    expect(await onVolume('ls /data/filestore; ls "/data/filestore/$1"', instance.dbName)).not.toMatch(
      /planted|restoring/,
    );
    expect((await sql<{ name: string }>(instance.dbName, 'select name from res_partner where id = 1'))[0]?.name).toBe(
      'KEPT',
    );
    // Started again as it was (the job's recovery), and answering.
    let health = 0;
    for (let i = 0; i < 60 && health !== 200; i++) {
      health = await fetch(`${instance.url}/web/health`).then(
        (r) => r.status,
        () => 0,
      );
      if (health !== 200) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(health).toBe(200);
  }, 240_000);

  it('restores a zip backup into a new instance: a copy with its own uuid, secret and URL', async () => {
    const zipBackup = await theZipBackup();
    const restore = await as(t, admin)('POST', `/api/v1/backups/${zipBackup.id}/restore`, {
      newInstance: { project: projectId, name: 'from-zip', stage: 'development', adminLogin: 'dev@acme.test' },
    });
    expect(restore.statusCode).toBe(202);
    const { job } = await followJob(baseUrl, headers, restore.json().job.id, 180_000);
    expect(job.error).toBeNull();
    const copy = restore.json().instance;
    expect(await param(copy.dbName, 'database.uuid')).not.toBe(await param(instance.dbName, 'database.uuid'));
    expect(await param(copy.dbName, 'database.secret')).not.toBe(await param(instance.dbName, 'database.secret'));
    expect(await param(copy.dbName, 'web.base.url')).toBe(copy.url);
    expect(await param(copy.dbName, 'database.is_neutralized')).toMatch(/true/i);
    expect((await fetch(`${copy.url}/web/health`)).status).toBe(200);
    // The empty database the new instance was made with is gone, not left beside the restored one.
    const aside = await sql('postgres', 'select datname from pg_database where datname like $1', [`${copy.dbName}_%`]);
    expect(aside).toEqual([]);
  }, 240_000);

  it('clones production-like data into a new staging instance without disconnecting the source, neutralized', async () => {
    const server = await t.services.databaseServers.forInstances('local');
    const connection = await t.services.databaseServers.connection(server);
    const held = new pg.Client({ ...connection, database: instance.dbName });
    await held.connect();
    await held.query('select 1');
    await sql(
      instance.dbName,
      "insert into ir_mail_server (name, smtp_host, smtp_port, active) values ('real', 'smtp.acme.test', 25, true)",
    ).catch(async () => sql(instance.dbName, "insert into ir_mail_server (name, active) values ('real', true)"));
    const clone = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/clone`, {
      newInstance: { project: projectId, name: 'staging', stage: 'staging', adminLogin: 'dev@acme.test' },
    });
    expect(clone.statusCode, clone.body).toBe(202);
    const { job } = await followJob(baseUrl, headers, clone.json().job.id, 180_000);
    expect(job.error).toBeNull();
    expect(job.steps.map((s) => s.name)).toContain('neutralize');
    const staging = clone.json().instance;
    expect(staging.clonedFromId).toBe(instance.id);
    expect((await held.query('select 1 as alive')).rows[0].alive).toBe(1);
    await held.end();
    const active = await sql<{ n: string }>(
      staging.dbName,
      'select count(*)::text as n from ir_mail_server where active',
    );
    expect(active[0]?.n).toBe('0');
    expect(await param(staging.dbName, 'database.is_neutralized')).toMatch(/true/i);
    expect(await param(staging.dbName, 'web.base.url')).toBe(staging.url);
    expect(await param(staging.dbName, 'database.uuid')).not.toBe(await param(instance.dbName, 'database.uuid'));
    // The source keeps its real mail server.
    const sourceActive = await sql<{ n: string }>(
      instance.dbName,
      'select count(*)::text as n from ir_mail_server where active',
    );
    expect(Number(sourceActive[0]?.n)).toBeGreaterThan(0);
    const cards = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}/database`)).json().database;
    expect(cards.sizeBytes).toBeGreaterThan(0);
    expect(cards.tables).toBeGreaterThan(3);
    expect(cards.lastBackup?.status).toBe('completed');
  }, 240_000);

  it('takes a safety backup before deleting an instance; it outlives the instance and restores as a new one', async () => {
    const list = (await as(t, admin)('GET', '/api/v1/instances')).json().instances as { id: string; name: string }[];
    const victim = list.find((i) => i.name === 'from-zip');
    expect(victim).toBeDefined();
    // What a restore whose clean-up failed would leave beside it: it goes with the instance.
    const victimDb = (await as(t, admin)('GET', `/api/v1/instances/${victim?.id}`)).json().instance.dbName as string;
    await sql('postgres', `CREATE DATABASE "${victimDb}_previous" OWNER "${victimDb}"`);
    const del = await as(t, admin)('DELETE', `/api/v1/instances/${victim?.id}`);
    expect(del.statusCode).toBe(202);
    const { job } = await followJob(baseUrl, headers, del.json().job.id, 180_000);
    expect(job.error).toBeNull();
    expect(job.steps.map((s) => s.name)).toEqual(['backup', 'container', 'volume', 'database']);
    expect(await sql('postgres', 'select datname from pg_database where datname like $1', [`${victimDb}%`])).toEqual(
      [],
    );
    const safety = (await as(t, admin)('GET', '/api/v1/backups?trigger=pre-delete')).json().backups;
    expect(safety).toHaveLength(1);
    expect(safety[0]).toMatchObject({ instanceId: null, instanceLabel: 'erp/from-zip', status: 'completed' });
    const back = await as(t, admin)('POST', `/api/v1/backups/${safety[0].id}/restore`, {
      newInstance: { project: projectId, name: 'resurrected', stage: 'development', adminLogin: 'dev@acme.test' },
    });
    expect(back.statusCode).toBe(202);
    const restored = await followJob(baseUrl, headers, back.json().job.id, 180_000);
    expect(restored.job.error).toBeNull();
    // Without a target, a backup whose instance is gone has nowhere to go by default.
    const nowhere = await as(t, admin)('POST', `/api/v1/backups/${safety[0].id}/restore`, {});
    expect(nowhere.statusCode).toBe(400);
  }, 300_000);

  it('a clone into production needs the typed confirmation', async () => {
    const prod = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/clone`, { instanceId: instance.id });
    expect(prod.statusCode).toBe(400);
  });

  it('pins: a pinned backup cannot be deleted; unpinned, its record and file go', async () => {
    const zipBackup = await theZipBackup();
    const pinned = await as(t, admin)('POST', `/api/v1/backups/${zipBackup.id}/pin`, {});
    expect(pinned.json().backup.pinned).toBe(true);
    const refused = await as(t, admin)('DELETE', `/api/v1/backups/${zipBackup.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('MARINA_E_PINNED');
    await as(t, admin)('POST', `/api/v1/backups/${zipBackup.id}/pin`, { pinned: false });
    const deleted = await as(t, admin)('DELETE', `/api/v1/backups/${zipBackup.id}`);
    expect(deleted.statusCode).toBe(204);
    expect(existsSync(join(t.config.backups.dir, instance.id, `${zipBackup.id}.zip`))).toBe(false);
    expect((await as(t, admin)('GET', `/api/v1/backups/${zipBackup.id}`)).statusCode).toBe(404);
  });

  it('keeps backups of other organizations out of sight: list, get, download, restore, clone, import', async () => {
    const { nativeBackup } = await theNativeBackup();
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'other', name: 'Other' });
    const outsider = await memberBrowser(t, admin, 'other', 'outsider@other.test', 'owner');
    const member = await memberBrowser(t, admin, 'acme', 'member@acme.test', 'member');
    const call = as(t, outsider);
    expect((await call('GET', `/api/v1/instances/${instance.id}/backups`)).statusCode).toBe(404);
    expect((await call('GET', `/api/v1/backups/${nativeBackup.id}`)).statusCode).toBe(404);
    expect((await call('GET', `/api/v1/backups/${nativeBackup.id}/download`)).statusCode).toBe(404);
    expect((await call('POST', `/api/v1/backups/${nativeBackup.id}/restore`, {})).statusCode).toBe(404);
    expect((await call('POST', `/api/v1/backups/${nativeBackup.id}/pin`, {})).statusCode).toBe(404);
    expect((await call('DELETE', `/api/v1/backups/${nativeBackup.id}`)).statusCode).toBe(404);
    expect((await call('GET', `/api/v1/instances/${instance.id}/database`)).statusCode).toBe(404);
    expect(
      (
        await call('POST', `/api/v1/instances/${instance.id}/clone`, {
          newInstance: { project: projectId, name: 'x', stage: 'staging', adminLogin: 'a@b.test' },
        })
      ).statusCode,
    ).toBe(404);
    expect((await call('GET', '/api/v1/backups')).json().backups).toEqual([]);
    expect(
      (await upload(`instance=${instance.id}`, await makeZip({ 'manifest.json': '{}' }), outsider)).statusCode,
    ).toBe(404);
    // Members see backups, but downloading all of a customer's data needs an admin.
    expect((await as(t, member)('GET', `/api/v1/instances/${instance.id}/backups`)).statusCode).toBe(200);
    expect((await as(t, member)('GET', `/api/v1/backups/${nativeBackup.id}/download`)).statusCode).toBe(403);
    expect((await as(t, member)('POST', `/api/v1/instances/${instance.id}/backups`, {})).statusCode).toBe(403);
  });
});

async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
