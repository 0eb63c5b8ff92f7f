import type Docker from 'dockerode';
import { TEST_IMAGES } from './docker.js';

/** Docker's log of a container without a TTY: frames of an 8-byte header (stream, size) and their bytes. */
export function frames(raw: Buffer): string {
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length; at += 8 + raw.readUInt32BE(at + 4))
    parts.push(raw.subarray(at + 8, at + 8 + raw.readUInt32BE(at + 4)));
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Runs a fixed script in a throwaway container of `engine` with volumes mounted (volume name → path),
 * no network; its output, or an error with it when the script fails.
 */
export async function inVolumes(
  engine: Docker,
  volumes: Record<string, string>,
  script: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const container = await engine.createContainer({
    Image: TEST_IMAGES.postgres,
    Entrypoint: ['sh', '-euc', script],
    Labels: labels,
    HostConfig: {
      NetworkMode: 'none',
      Mounts: Object.entries(volumes).map(([source, target]) => ({ Type: 'volume', Source: source, Target: target })),
    },
  });
  try {
    await container.start();
    const { StatusCode } = await container.wait();
    const output = frames(await container.logs({ stdout: true, stderr: true }));
    if (StatusCode !== 0) throw new Error(`the helper failed (${StatusCode}): ${output}`);
    return output;
  } finally {
    // v: the image's anonymous volume (PostgreSQL's data folder) goes too.
    await container.remove({ force: true, v: true });
  }
}
