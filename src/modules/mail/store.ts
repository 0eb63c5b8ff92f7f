import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import { loadMailparser } from './parser.js';

export interface MailStoreDeps {
  db: Db;
  clock: Clock;
  /** Where messages live: `<dir>/<instance id>/<mail id>.eml`. */
  dir: string;
  keepMessages: number;
  keepBytes: number;
}

/** What the catcher knows of a message besides its bytes. */
export interface Envelope {
  instanceId: string;
  organizationId: string;
  from: string | null;
  to: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEADER_MAX = 998;

/** Text of a parsed address header, on one line and bounded (it is shown in a list). */
const oneLine = (text: string | undefined) => (text ?? '').replace(/[\r\n\t]+/g, ' ').slice(0, HEADER_MAX);

/**
 * The catcher's messages: one raw .eml file per message (written under a temporary name and renamed
 * whole, so a reader never sees half of one) and one row, per instance, with the oldest rotated out
 * beyond a count and a size. Nothing here ever sends a message anywhere.
 */
export class MailStore {
  constructor(private readonly deps: MailStoreDeps) {}

  private folder(instanceId: string): string {
    if (!UUID.test(instanceId)) throw new Error(`not an instance id: ${instanceId}`);
    return join(this.deps.dir, instanceId);
  }

  fileOf(instanceId: string, mailId: string): string {
    if (!UUID.test(mailId)) throw new Error(`not a mail id: ${mailId}`);
    return join(this.folder(instanceId), `${mailId}.eml`);
  }

  /** A fresh temporary path in the instance's folder for a message being received. */
  async incomingPath(instanceId: string): Promise<string> {
    const folder = this.folder(instanceId);
    await mkdir(folder, { recursive: true, mode: 0o700 });
    return join(folder, `.incoming-${randomBytes(8).toString('hex')}.tmp`);
  }

  /** Files a completely received message (at `tempPath`), then rotates the instance's oldest out. */
  async file(envelope: Envelope, tempPath: string): Promise<string> {
    const raw = await readFile(tempPath);
    const { simpleParser } = await loadMailparser();
    const parsed = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
    const id = randomUUID();
    await rename(tempPath, this.fileOf(envelope.instanceId, id));
    await this.deps.db
      .insertInto('caught_mails')
      .values({
        id,
        instance_id: envelope.instanceId,
        organization_id: envelope.organizationId,
        received_at: this.deps.clock.now(),
        envelope_from: envelope.from,
        envelope_to: JSON.stringify(envelope.to),
        subject: oneLine(parsed.subject),
        from_header: oneLine(parsed.from?.text),
        to_header: oneLine(Array.isArray(parsed.to) ? parsed.to.map((a) => a.text).join(', ') : parsed.to?.text),
        size_bytes: raw.length,
        has_html: typeof parsed.html === 'string' && parsed.html !== '',
        attachment_count: parsed.attachments.length,
      })
      .execute();
    await this.rotate(envelope.instanceId);
    return id;
  }

  /** Removes the oldest messages beyond the count and the byte cap (rows first, then their files). */
  async rotate(instanceId: string): Promise<number> {
    const rows = await this.deps.db
      .selectFrom('caught_mails')
      .select(['id', 'size_bytes'])
      .where('instance_id', '=', instanceId)
      .orderBy('seq', 'desc')
      .execute();
    let bytes = 0;
    const drop: string[] = [];
    rows.forEach((row, i) => {
      bytes += row.size_bytes;
      // The newest message is always kept, whatever its size: it is below the per-message limit.
      if (i > 0 && (i >= this.deps.keepMessages || bytes > this.deps.keepBytes)) drop.push(row.id);
    });
    if (drop.length === 0) return 0;
    await this.deps.db.deleteFrom('caught_mails').where('id', 'in', drop).execute();
    await Promise.all(drop.map((id) => rm(this.fileOf(instanceId, id), { force: true })));
    return drop.length;
  }

  async read(instanceId: string, mailId: string): Promise<Buffer> {
    return readFile(this.fileOf(instanceId, mailId));
  }

  /** Every message of an instance: its rows and its folder. */
  async deleteAll(instanceId: string): Promise<number> {
    const deleted = await this.deps.db.deleteFrom('caught_mails').where('instance_id', '=', instanceId).execute();
    await rm(this.folder(instanceId), { recursive: true, force: true });
    return Number(deleted[0]?.numDeletedRows ?? 0);
  }

  /**
   * Removes the folders of instances that no longer exist (their rows went with them): run at
   * start, so a deleted instance's messages do not stay on disk.
   */
  async sweepDeleted(): Promise<number> {
    const folders = await readdir(this.deps.dir).catch(() => [] as string[]);
    const ids = folders.filter((f) => UUID.test(f));
    if (ids.length === 0) return 0;
    const known = new Set(
      (await this.deps.db.selectFrom('instances').select('id').where('id', 'in', ids).execute()).map((r) => r.id),
    );
    const gone = ids.filter((id) => !known.has(id));
    await Promise.all(gone.map((id) => rm(join(this.deps.dir, id), { recursive: true, force: true })));
    return gone.length;
  }

  /** Bytes on disk for an instance (tests and the size cap's proof). */
  async bytesOnDisk(instanceId: string, ids: string[]): Promise<number> {
    const sizes = await Promise.all(ids.map((id) => stat(this.fileOf(instanceId, id)).then((s) => s.size)));
    return sizes.reduce((a, b) => a + b, 0);
  }
}
