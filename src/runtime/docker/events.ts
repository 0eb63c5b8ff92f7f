import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { type ContainerEvent, LABEL_NAMESPACE } from './engine.js';

/**
 * Follows the engine's container events for Marina's objects until `signal` aborts. The stream
 * is the source of truth for status; nothing polls containers per request.
 */
export async function followEvents(
  docker: Docker,
  namespace: string,
  onEvent: (event: ContainerEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const stream = (await docker.getEvents({
    filters: { type: ['container'], label: [`${LABEL_NAMESPACE}=${namespace}`] },
    abortSignal: signal,
  } as Docker.GetEventsOptions)) as unknown as Readable;
  let buffer = '';
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        if (!line) continue;
        const raw = JSON.parse(line) as {
          id: string;
          Action: string;
          Actor: { Attributes: Record<string, string> };
          time: number;
        };
        const exitCode = raw.Actor.Attributes.exitCode;
        onEvent({
          id: raw.id,
          action: raw.Action,
          labels: raw.Actor.Attributes,
          exitCode: exitCode === undefined ? undefined : Number(exitCode),
          time: new Date(raw.time * 1000),
        });
      }
    });
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', (error) => (signal.aborted ? resolve() : reject(error)));
    signal.addEventListener('abort', () => {
      stream.destroy();
      resolve();
    });
  });
}
