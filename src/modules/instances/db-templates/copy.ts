import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import tarStream from 'tar-stream';
import type { Instance } from '../../../db/schema.js';
import type { OneOffSpec, Runtime } from '../../../runtime/port.js';
import { ODOO_DATA_DIR, ODOO_UID, type OdooRuntime, oneOffSpec } from '../odoo-container.js';

const TEMPLATE_MOUNT = '/template';
const DATABASE_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** A carrier (never started) with the template's volume beside the instance's. */
export function filestoreCarrierSpec(
  rt: OdooRuntime,
  instance: Instance,
  template: { db_name: string; volume_name: string },
): OneOffSpec {
  for (const name of [template.db_name, instance.db_name])
    if (!DATABASE_NAME.test(name)) throw new Error(`refusing the database name ${JSON.stringify(name)}`);
  const spec = oneOffSpec(rt, instance, { suffix: 'template-files', cmd: ['true'] });
  return {
    ...spec,
    mounts: [
      ...(spec.mounts ?? []),
      { type: 'volume', source: template.volume_name, target: TEMPLATE_MOUNT, readOnly: true },
    ],
  };
}

/**
 * The template's filestore into the instance's volume under the copy's database name, as one tar
 * stream through the engine's archive API: no process runs, owners and modes come along.
 */
export async function copyFilestore(
  engine: Runtime,
  rt: OdooRuntime,
  instance: Instance,
  template: { db_name: string; volume_name: string },
): Promise<number> {
  return engine.withData(filestoreCarrierSpec(rt, instance, template), async (data) => {
    const source = await data.read(`${TEMPLATE_MOUNT}/filestore/${template.db_name}`);
    if (!source) return 0;
    let files = 0;
    const extract = tarStream.extract();
    const pack = tarStream.pack();
    pack.entry({ name: 'filestore/', type: 'directory', uid: ODOO_UID, gid: ODOO_UID, mode: 0o700 });
    extract.on('entry', (header, stream, next) => {
      // The archive's entries start with the template's folder name: they take the copy's.
      const rest = header.name.slice(template.db_name.length);
      if (!header.name.startsWith(template.db_name) || (rest !== '' && !rest.startsWith('/'))) {
        stream.resume();
        next(new Error(`unexpected entry ${header.name} in the template's filestore`));
        return;
      }
      if (header.type === 'file') files++;
      pipeline(stream, pack.entry({ ...header, name: `filestore/${instance.db_name}${rest}` })).then(
        () => next(),
        next,
      );
    });
    extract.on('finish', () => pack.finalize());
    extract.on('error', (error) => pack.destroy(error));
    const out = new PassThrough();
    await Promise.all([pipeline(source, extract), pipeline(pack, out), data.write(ODOO_DATA_DIR, out)]);
    return files;
  });
}

/** Odoo's way of writing a datetime parameter: UTC, seconds, no zone. */
const odooDatetime = (at: Date) => at.toISOString().slice(0, 19).replace('T', ' ');

/**
 * What makes a database itself, as Odoo sets it at creation: its uuid (the key of its
 * subscription and of IAP services), its secret (signing sessions' and links' tokens) and its
 * creation date. A copy that kept the template's would share them with every other copy.
 * On the instance's own role's connection.
 */
export async function resetIdentity(instanceRole: pg.ClientBase, at: Date): Promise<string> {
  const uuid = randomUUID();
  await instanceRole.query(
    `INSERT INTO ir_config_parameter (key, value)
     VALUES ('database.uuid', $1), ('database.secret', $2), ('database.create_date', $3)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [uuid, randomUUID(), odooDatetime(at)],
  );
  return uuid;
}
