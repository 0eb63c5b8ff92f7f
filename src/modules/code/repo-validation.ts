import { isIPv4, isIPv6 } from 'node:net';
import { invalid } from '../../platform/validation.js';

/**
 * Validation of git repository input: URLs, branches and folders. Pure; the git adapter runs the
 * same checks again before it calls git, because not every caller comes through the API.
 */
export interface RepoUrl {
  scheme: 'https' | 'ssh' | 'file';
  host: string | null;
  port: number | null;
  user: string | null;
  path: string;
  /** What git gets. */
  url: string;
}

export const repoLimits = { url: 500, branch: 200, subfolder: 200, knownHosts: 65_536 } as const;

const EXPECTED =
  'Expected https://host/path, ssh://[user@]host[:port]/path or user@host:path (like git@github.com:OCA/web.git).';
// Letters, digits and the punctuation real hosting services use in repository paths.
const PATH_CHARS = /^[A-Za-z0-9._~%+@:,=/-]*$/;
const USER = /^[A-Za-z0-9._-]{1,64}$/;
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function parseRepoUrl(value: unknown, options: { allowFile: boolean }, field = 'url'): RepoUrl {
  if (typeof value !== 'string' || value.length === 0)
    throw invalid(field, `A repository URL is required. ${EXPECTED}`);
  if (value.length > repoLimits.url)
    throw invalid(field, `The repository URL is longer than ${repoLimits.url} characters.`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\x00-\x1f\x7f]/.test(value)) throw invalid(field, 'The repository URL must not contain control characters.');
  if (/\s/u.test(value)) throw invalid(field, 'The repository URL must not contain spaces or other whitespace.');
  if (value.startsWith('-'))
    throw invalid(field, `The repository URL must not start with "-" (git would read it as an option). ${EXPECTED}`);
  const transport = /^([A-Za-z][A-Za-z0-9+.-]*)::/.exec(value);
  if (transport)
    throw invalid(
      field,
      `"${transport[1]}::" URLs run a git remote helper and are not allowed. ${EXPECTED.replace('Expected', 'Use')}`,
    );

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value);
  if (scheme) {
    const name = (scheme[1] as string).toLowerCase();
    const rest = value.slice(scheme[0].length);
    if (name === 'https') return parseAuthorityUrl(value, 'https', rest, field);
    if (name === 'ssh') return parseAuthorityUrl(value, 'ssh', rest, field);
    if (name === 'file') return parseFileUrl(value, rest, options, field);
    if (name === 'http')
      throw invalid(field, 'Plain http:// is not allowed because it is not encrypted: use https:// or an ssh URL.');
    throw invalid(field, `${name}:// URLs are not allowed. ${EXPECTED}`);
  }
  // git reads "host:path" as ssh when a colon comes before any slash.
  const colon = value.indexOf(':');
  const slash = value.indexOf('/');
  if (colon > 0 && (slash === -1 || colon < slash)) return parseScpLike(value, field);
  if (value.startsWith('[')) return parseScpLike(value, field);
  throw invalid(
    field,
    `"${value.slice(0, 80)}" is not a repository URL. ${EXPECTED}${options.allowFile ? ' Local repositories are given as file:///absolute/path.' : ''}`,
  );
}

function parseAuthorityUrl(value: string, scheme: 'https' | 'ssh', rest: string, field: string): RepoUrl {
  const slash = rest.indexOf('/');
  if (slash === -1) throw invalid(field, `The ${scheme} URL has no repository path. ${EXPECTED}`);
  const authority = rest.slice(0, slash);
  const path = rest.slice(slash);
  let user: string | null = null;
  let hostPort = authority;
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    if (scheme === 'https')
      throw invalid(
        field,
        'Credentials in an https URL are not allowed (they would be stored and shown in clear): use an ssh URL with the deploy key Marina generates for the repository.',
      );
    user = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    if (!USER.test(user) || user.startsWith('-'))
      throw invalid(
        field,
        'The ssh user name may hold only letters, digits, ".", "_" and "-", must not start with "-", and no password is allowed in the URL.',
      );
  }
  const { host, port } = parseHostPort(hostPort, field);
  checkPath(path, field);
  if (path === '/') throw invalid(field, `The ${scheme} URL has no repository path. ${EXPECTED}`);
  return { scheme, host, port, user, path, url: value };
}

function parseFileUrl(value: string, rest: string, options: { allowFile: boolean }, field: string): RepoUrl {
  if (!options.allowFile)
    throw invalid(
      field,
      'Local repositories (file:// URLs) are not allowed for this organization: a platform admin allows them per organization, under one root folder.',
    );
  if (!rest.startsWith('/'))
    throw invalid(field, 'A local repository is given as file:///absolute/path (three slashes, no host).');
  if (rest.includes('%'))
    throw invalid(field, 'A file:// URL must not contain "%" escapes: give the path as it is on disk.');
  checkPath(rest, field);
  if (rest === '/') throw invalid(field, 'The file:// URL has no repository path.');
  return { scheme: 'file', host: null, port: null, user: null, path: rest, url: value };
}

function parseScpLike(value: string, field: string): RepoUrl {
  let user: string | null = null;
  let rest = value;
  const at = value.indexOf('@');
  // Only an "@" before the host counts as the user part: "host:path@x" has none.
  const firstColon = value.startsWith('[') ? value.indexOf(']') : value.indexOf(':');
  if (at !== -1 && at < firstColon) {
    user = value.slice(0, at);
    rest = value.slice(at + 1);
    if (!USER.test(user) || user.startsWith('-'))
      throw invalid(
        field,
        'The ssh user name (before "@") may hold only letters, digits, ".", "_" and "-", and must not start with "-".',
      );
  }
  let host: string;
  let path: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1 || rest[close + 1] !== ':')
      throw invalid(field, `"${value.slice(0, 80)}" is not valid. ${EXPECTED}`);
    host = rest.slice(0, close + 1);
    path = rest.slice(close + 2);
  } else {
    const colon = rest.indexOf(':');
    if (colon <= 0) throw invalid(field, `"${value.slice(0, 80)}" has no host. ${EXPECTED}`);
    host = rest.slice(0, colon);
    path = rest.slice(colon + 1);
  }
  checkHost(host, field);
  if (path.length === 0 || path === '/') throw invalid(field, `The URL has no repository path after ":". ${EXPECTED}`);
  if (path.startsWith('-')) throw invalid(field, 'The repository path must not start with "-".');
  checkPath(path, field);
  return { scheme: 'ssh', host, port: null, user, path, url: value };
}

function parseHostPort(hostPort: string, field: string): { host: string; port: number | null } {
  let host = hostPort;
  let portText: string | null = null;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close === -1) throw invalid(field, 'An IPv6 address in a URL is written in brackets, like [2001:db8::1].');
    host = hostPort.slice(0, close + 1);
    const after = hostPort.slice(close + 1);
    if (after.length > 0) {
      if (!after.startsWith(':')) throw invalid(field, 'Only ":port" may follow a bracketed IPv6 address.');
      portText = after.slice(1);
    }
  } else {
    const colon = hostPort.lastIndexOf(':');
    if (colon !== -1) {
      host = hostPort.slice(0, colon);
      portText = hostPort.slice(colon + 1);
    }
  }
  checkHost(host, field);
  if (portText === null) return { host, port: null };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) throw invalid(field, `The port "${portText}" is not a number from 1 to 65535.`);
  return { host, port };
}

function checkHost(host: string, field: string): void {
  if (host.startsWith('-')) throw invalid(field, 'The host name must not start with "-".');
  if (host.startsWith('[')) {
    if (host.endsWith(']') && isIPv6(host.slice(1, -1))) return;
    throw invalid(field, `"${host}" is not a valid bracketed IPv6 address.`);
  }
  const labels = host.split('.');
  const valid =
    host.length > 0 &&
    host.length <= 253 &&
    labels.every((label) => HOST_LABEL.test(label)) &&
    // All-numeric names are IPv4 addresses and must be valid ones.
    (!/^[\d.]+$/.test(host) || isIPv4(host));
  if (!valid)
    throw invalid(
      field,
      `"${host.slice(0, 80)}" is not a valid host name: use a DNS name (letters, digits, "-" and "."), an IPv4 address or a bracketed IPv6 address.`,
    );
}

function checkPath(path: string, field: string): void {
  if (!PATH_CHARS.test(path))
    throw invalid(
      field,
      'The repository path may contain only letters, digits and the characters . _ ~ % + @ : , = / -',
    );
  for (const segment of path.split('/')) {
    let decoded = segment;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw invalid(field, 'The repository path holds a broken "%" escape.');
    }
    if (decoded === '..' || segment === '..')
      throw invalid(field, 'The repository path must not contain ".." segments.');
    if (segment.startsWith('-') || decoded.startsWith('-'))
      throw invalid(field, 'No part of the repository path may start with "-".');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[\x00-\x1f\x7f\s]/.test(decoded))
      throw invalid(field, 'The repository path must not hold escaped control characters or whitespace.');
  }
}

/** Why `name` is not a valid branch name (git check-ref-format rules for refs/heads/<name>), or null. */
export function branchProblem(name: string): string | null {
  if (name.length === 0) return 'The branch name is empty.';
  if (name.length > repoLimits.branch) return `The branch name is longer than ${repoLimits.branch} characters.`;
  if (name.startsWith('-')) return 'A branch name must not start with "-".';
  if (!/^[\x21-\x7e]+$/.test(name))
    return 'A branch name may hold only printable ASCII characters: no spaces, control characters or accents.';
  const bad = /[~^:?*[\\]/.exec(name);
  if (bad) return `A branch name must not contain "${bad[0]}" (git forbids ~ ^ : ? * [ and \\).`;
  if (name.includes('..')) return 'A branch name must not contain "..".';
  if (name.includes('@{')) return 'A branch name must not contain "@{".';
  if (name === '@') return 'A branch name must not be "@".';
  if (name === 'HEAD') return '"HEAD" is not a branch name.';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//'))
    return 'A branch name must not start or end with "/" or contain "//".';
  if (name.endsWith('.')) return 'A branch name must not end with ".".';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return 'No part of a branch name (between "/") may start with ".".';
    if (part.endsWith('.lock')) return 'No part of a branch name (between "/") may end with ".lock".';
  }
  return null;
}

export function requireBranch(value: unknown, field = 'branch'): string {
  if (typeof value !== 'string' || value.length === 0)
    throw invalid(field, 'A branch name is required, for example "17.0" or "main".');
  const problem = branchProblem(value);
  if (problem) throw invalid(field, `${problem} Expected a git branch name such as "17.0" or "feature/invoices".`);
  return value;
}

const FOLDER = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function requireRepoFolder(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || !FOLDER.test(value))
    throw invalid(
      field,
      'The repository folder name (it becomes /mnt/extra-addons/<name>) has 1 to 63 lowercase letters, digits, "_" and "-", and starts with a letter or digit.',
    );
  return value;
}

const SUBFOLDER_SEGMENT = /^[A-Za-z0-9._-]+$/;

export function requireSubfolder(value: unknown, field = 'subfolder'): string {
  if (value === undefined || value === null || value === '') return '';
  const expected =
    'Expected a relative folder inside the repository like "addons" or "src/addons": parts of letters, digits, ".", "_" and "-" joined by "/".';
  if (typeof value !== 'string') throw invalid(field, `The subfolder must be text. ${expected}`);
  if (value.length > repoLimits.subfolder)
    throw invalid(field, `The subfolder is longer than ${repoLimits.subfolder} characters.`);
  if (value.startsWith('/') || value.endsWith('/'))
    throw invalid(field, `The subfolder must not start or end with "/". ${expected}`);
  for (const segment of value.split('/')) {
    if (!SUBFOLDER_SEGMENT.test(segment)) throw invalid(field, `"${value.slice(0, 80)}" is not valid. ${expected}`);
    if (segment === '.' || segment === '..')
      throw invalid(field, `The subfolder must not contain "." or ".." parts. ${expected}`);
    if (segment.startsWith('-')) throw invalid(field, `No part of the subfolder may start with "-". ${expected}`);
  }
  return value;
}

/** A folder name for the repository, from the last part of its path ("OCA/web.git" → "web"). */
export function repoNameFromUrl(url: RepoUrl): string {
  const segments = url.path.split(/[/:]/).filter((s) => s.length > 0);
  let last = segments[segments.length - 1] ?? '';
  last = last.replace(/\.git$/i, '').toLowerCase();
  let name = last
    .replace(/[^a-z0-9_-]/g, '_')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  if (!FOLDER.test(name)) name = 'repo';
  return name;
}

const KNOWN_HOSTS_LINE =
  /^(?:@(?:cert-authority|revoked) )?[^\s]+ (?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com|ssh-dss) [A-Za-z0-9+/]+={0,3}(?: [\x20-\x7e]*)?$/;

/** known_hosts lines as pasted by an admin: each "host keytype base64 [comment]"; blank lines and # comments kept out. */
export function requireKnownHosts(value: unknown, field = 'knownHosts'): string {
  if (typeof value !== 'string' || value.trim().length === 0)
    throw invalid(field, 'Host keys are required, as known_hosts lines ("host keytype key").');
  if (value.length > repoLimits.knownHosts)
    throw invalid(field, `The host keys are longer than ${repoLimits.knownHosts} characters.`);
  const lines = value
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  for (const [index, line] of lines.entries()) {
    if (!KNOWN_HOSTS_LINE.test(line))
      throw invalid(
        field,
        `Line ${index + 1} of the host keys is not a known_hosts line: expected "host keytype key", as ssh-keyscan prints.`,
      );
  }
  if (lines.length === 0) throw invalid(field, 'No host key line was given.');
  return `${lines.join('\n')}\n`;
}
