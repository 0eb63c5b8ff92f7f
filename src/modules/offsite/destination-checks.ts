import { type OutboundGuard, OutboundRefusedError } from '../../adapters/net/outbound.js';
import type { ProbeResult, S3Settings, SftpSecrets, SftpSettings, StoreTarget } from '../../adapters/storage/types.js';
import { MarinaError } from '../../platform/errors.js';
import { outboundError } from '../settings/outbound-settings.js';

export type Probe = (target: StoreTarget, guard: OutboundGuard) => Promise<ProbeResult>;

/**
 * Before a destination is stored: an S3 endpoint naming an internal address is refused (a name
 * that does not resolve yet is checked again at each connection); an SFTP server is tested in
 * full and its host key pinned, since no upload ever goes to an unpinned host. Returns that key.
 */
export async function checkReachable(
  guard: OutboundGuard,
  probe: Probe,
  target: { kind: 's3'; settings: S3Settings } | { kind: 'sftp'; settings: SftpSettings; secrets: SftpSecrets },
): Promise<string | null> {
  if (target.kind === 's3') {
    const endpoint = target.settings.endpoint;
    if (!endpoint) return null;
    const url = new URL(endpoint);
    const port = url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
    try {
      await guard.check(url.hostname, port);
    } catch (error) {
      if (error instanceof OutboundRefusedError) throw outboundError(error);
    }
    return null;
  }
  let result: ProbeResult;
  try {
    result = await probe({ kind: 'sftp', settings: target.settings, secrets: target.secrets }, guard);
  } catch (error) {
    throw outboundError(error) ?? error;
  }
  if (!result.ok || !result.hostKeyFingerprint)
    throw new MarinaError(
      'MARINA_E_STORAGE',
      `The SFTP server failed the connection test, so the destination was not added: ${result.error?.message ?? 'it showed no host key.'}`,
      { reason: result.error?.reason ?? 'host-key-unpinned', steps: result.steps },
    );
  return result.hostKeyFingerprint;
}
