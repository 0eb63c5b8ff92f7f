import { isIP } from 'node:net';
import { GitError } from './errors.js';

/** A checked address for the host of an https or ssh remote. */
export interface PinnedRemote {
  host: string;
  port: number;
  address: string;
}

/**
 * How known_hosts names a host, and the HostKeyAlias ssh checks with: pinned host keys stay tied to
 * the name the user gave, while ssh connects to the checked address.
 */
export function knownHostsName(host: string, port: number): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return port === 22 ? bare.toLowerCase() : `[${bare.toLowerCase()}]:${port}`;
}

/**
 * Per-command ssh config: the remote's host name goes to the checked address. Other hosts (a
 * submodule elsewhere) match no block and keep the wrapper's defaults.
 */
export function pinnedSshConfig(pin: PinnedRemote): string {
  const host = pin.host.startsWith('[') ? pin.host.slice(1, -1) : pin.host;
  if (!/^[A-Za-z0-9.:-]+$/.test(host) || host.startsWith('-') || isIP(pin.address) === 0)
    throw new GitError('other', 'The checked address of the remote is not a plain host and IP address.', '');
  return `Host ${host.toLowerCase()}\n  HostName ${pin.address}\n  HostKeyAlias ${knownHostsName(host, pin.port)}\n`;
}

export function bareOf(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** curl's --resolve takes IPv6 addresses in brackets. */
export function curlAddress(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
