import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';

/** The text of the first file in a tar stream (Docker's archive of one path), up to `limitBytes`. */
export function firstFileOfTar(archive: Readable, path: string, limitBytes = 1024 * 1024): Promise<string> {
  const extract = tarStream.extract();
  const content = new Promise<string>((resolve, reject) => {
    let text: string | undefined;
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (data: unknown) => {
        const chunk = data as Buffer;
        size += chunk.length;
        if (size <= limitBytes) chunks.push(chunk);
      });
      stream.on('end', () => {
        if (header.type === 'file' && text === undefined) text = Buffer.concat(chunks).toString('utf8');
        next();
      });
      stream.resume();
    });
    extract.on('finish', () => (text === undefined ? reject(new Error(`${path} is not a file`)) : resolve(text)));
    extract.on('error', reject);
  });
  archive.pipe(extract);
  return content;
}
