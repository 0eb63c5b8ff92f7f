/** Why a git command failed, in words a user can act on. */
export type GitFailure =
  | 'auth'
  | 'host-key'
  | 'repository-missing'
  | 'branch-missing'
  | 'diverged'
  | 'network'
  | 'timeout'
  | 'protocol'
  | 'other';

export class GitError extends Error {
  constructor(
    readonly reason: GitFailure,
    message: string,
    /** git's (and ssh's) own words, trimmed; never holds key material. */
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

/** What the failed command was about, for the message. */
export interface FailureContext {
  /** "clone", "fetch", … */
  action: string;
  url?: string;
  branch?: string;
  dir?: string;
}

// Order matters: a refused key also prints "Could not read from remote repository", a missing
// branch "not found".
const RULES: [GitFailure, RegExp][] = [
  [
    'protocol',
    /transport '[^']*' not allowed|unable to find remote helper|strange (?:hostname|pathname|port|username) '|unsupported URL protocol|protocol '[^']*' is not supported/i,
  ],
  [
    'host-key',
    /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No [A-Z0-9-]+ host key is known for|host key for .* has changed/i,
  ],
  [
    'auth',
    /Permission denied \(|Permission denied, please try again|Too many authentication failures|could not read (?:Username|Password)|terminal prompts disabled|Authentication failed|returned error: 40[13]|Load key .*: (?:invalid format|error in libcrypto)/i,
  ],
  ['branch-missing', /Remote branch .* not found|couldn't find remote ref|Could not find remote branch/i],
  [
    'network',
    /Could not resolve host|Name or service not known|Temporary failure in name resolution|Connection refused|Connection timed out|Network is unreachable|No route to host|Connection reset|Connection closed by|Failed to connect to|Operation timed out|kex_exchange_identification|SSL certificate problem|server certificate verification failed|gnutls_handshake|Could not connect/i,
  ],
  [
    'repository-missing',
    /does not appear to be a git repository|Repository not found|repository '.*' not found|returned error: 404|project you were looking for could not be found|No such (?:repository|project)|not found/i,
  ],
  ['diverged', /Not possible to fast-forward|would be overwritten by merge|have diverged|diverging branches/i],
];

export function classifyStderr(stderr: string): GitFailure {
  for (const [reason, pattern] of RULES) if (pattern.test(stderr)) return reason;
  return 'other';
}

/** The line of git's output that says most, without control characters. */
export function keyLine(stderr: string, reason?: GitFailure): string {
  const lines = stderr
    .split('\n')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes from the remote are dropped
    .map((l) => l.replace(/[\x00-\x1f\x7f]/g, '').trim())
    // ssh's warning banners, and git's generic footer after any ssh failure.
    .filter((l) => l.length > 0 && !/^@+$/.test(l) && !/Could not read from remote repository/.test(l));
  const rule = RULES.find(([r]) => r === reason)?.[1];
  const best =
    (rule && lines.find((l) => rule.test(l))) ??
    lines.find((l) => /^(?:fatal|error|ERROR):/.test(l)) ??
    lines.find((l) => /denied|failed|not found|refused|timed out|not allowed/i.test(l)) ??
    lines[lines.length - 1] ??
    '';
  return best.length > 300 ? `${best.slice(0, 300)}…` : best;
}

export function failureMessage(reason: GitFailure, context: FailureContext, stderr: string): string {
  const where = context.url ? ` ${context.url}` : context.dir ? ` the checkout in ${context.dir}` : '';
  const detail = keyLine(stderr, reason);
  const said = detail ? ` (git said: ${detail})` : '';
  const host = hostOf(context.url);
  switch (reason) {
    case 'auth':
      return context.url?.startsWith('https:')
        ? `The git server asks for credentials to ${context.action}${where}: for a private repository use its ssh URL with the deploy key Marina shows.${said}`
        : `The git server refused the deploy key to ${context.action}${where}: add Marina's public deploy key to the repository (read access is enough) and try again.${said}`;
    case 'host-key':
      return `The SSH host key of ${host ?? 'the git server'} does not match the key pinned for this repository, so Marina did not connect. If the server's key was changed on purpose, scan and pin its host key again; otherwise someone may be impersonating the server.${said}`;
    case 'repository-missing':
      return `No repository was found at${where || ' that address'}, or the deploy key has no access to it: check the URL and that the key is added to the repository.${said}`;
    case 'branch-missing':
      return `The branch "${context.branch ?? '?'}" does not exist in${where || ' the repository'}: check its name (it is case-sensitive).${said}`;
    case 'network':
      return `Marina could not ${context.action}${where}: the git server${host ? ` ${host}` : ''} cannot be reached from this server; check the host name, the port and the network.${said}`;
    case 'protocol':
      return `git refused a URL or transport Marina does not allow while trying to ${context.action}${where}: only https and ssh are allowed, and file:// (also for submodules) only when an admin allows local repositories in Settings.${said}`;
    case 'diverged':
      return `The checkout${context.dir ? ` in ${context.dir}` : ''} cannot be fast-forwarded: it has local changes or its history no longer matches the remote branch.${said}`;
    case 'timeout':
      return `git did not finish in time to ${context.action}${where} and was stopped.`;
    default:
      if (/not a git repository/.test(stderr) && context.dir)
        return `${context.dir} is not a git checkout (any more): clone the repository again.`;
      return `git could not ${context.action}${where}${detail ? `: ${detail}` : '.'}`;
  }
}

function hostOf(url: string | undefined): string | null {
  if (!url) return null;
  const scheme = /^[a-z]+:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^:/]*)(?::(\d+))?/i.exec(url);
  if (scheme) return scheme[2] ? `${scheme[1]}:${scheme[2]}` : (scheme[1] ?? null);
  const scp = /^(?:[^@:]*@)?(\[[^\]]*\]|[^:/]*):/.exec(url);
  return scp?.[1] ?? null;
}
