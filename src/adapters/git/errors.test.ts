import { describe, expect, it } from 'vitest';
import { classifyStderr, failureMessage, keyLine } from './errors.js';

// What git, ssh and the big hosting services print, as copied from real failures.
const samples: [string, string][] = [
  ['git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.', 'auth'],
  ["fatal: could not read Username for 'https://github.com': terminal prompts disabled", 'auth'],
  ["remote: HTTP Basic: Access denied\nfatal: Authentication failed for 'https://gitlab.com/a/b.git/'", 'auth'],
  [
    '@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@@\nHost key verification failed.\nfatal: Could not read from remote repository.',
    'host-key',
  ],
  [
    'No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\nHost key verification failed.',
    'host-key',
  ],
  ['ERROR: Repository not found.\nfatal: Could not read from remote repository.', 'repository-missing'],
  [
    "remote: Repository not found.\nfatal: repository 'https://github.com/acme/nope.git/' not found",
    'repository-missing',
  ],
  ["fatal: '/srv/git/x.git' does not appear to be a git repository", 'repository-missing'],
  [
    'warning: Could not find remote branch 18.0 to clone.\nfatal: Remote branch 18.0 not found in upstream origin',
    'branch-missing',
  ],
  ["fatal: couldn't find remote ref refs/heads/18.0", 'branch-missing'],
  ["fatal: transport 'ext' not allowed", 'protocol'],
  ["fatal: transport 'file' not allowed\nfatal: clone of 'file:///x' into submodule path 'x' failed", 'protocol'],
  ["fatal: strange hostname '-oProxyCommand=x' blocked", 'protocol'],
  ['ssh: Could not resolve hostname nope.invalid: Name or service not known', 'network'],
  ["fatal: unable to access 'https://x.invalid/a.git/': Could not resolve host: x.invalid", 'network'],
  ['ssh: connect to host 10.0.0.1 port 22: Connection timed out', 'network'],
  ['kex_exchange_identification: read: Connection reset by peer', 'network'],
  [
    "fatal: unable to access 'https://self.example/a.git/': SSL certificate problem: self-signed certificate",
    'network',
  ],
  ['fatal: Not possible to fast-forward, aborting.', 'diverged'],
  ['fatal: the remote end hung up unexpectedly', 'other'],
];

describe('classifyStderr', () => {
  it.each(samples)('%s → %s', (stderr, reason) => {
    expect(classifyStderr(stderr)).toBe(reason);
  });
});

describe('failure messages', () => {
  it('quote the telling line, not the generic footer or banners', () => {
    const stderr =
      '@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.\nfatal: Could not read from remote repository.\n';
    expect(keyLine(stderr, 'host-key')).toBe('@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @');
    expect(
      keyLine(
        'ssh: connect to host x port 22: Connection refused\r\nfatal: Could not read from remote repository.\n',
        'network',
      ),
    ).toBe('ssh: connect to host x port 22: Connection refused');
    expect(keyLine('\x1b[31mfatal: boom\x1b[0m\n')).toBe('[31mfatal: boom[0m');
  });

  it('name the host and what to do', () => {
    expect(failureMessage('host-key', { action: 'clone', url: 'ssh://git@git.example.com:2222/a.git' }, '')).toMatch(
      /git\.example\.com:2222.*scan and pin its host key again/,
    );
    expect(failureMessage('host-key', { action: 'clone', url: 'git@github.com:OCA/web.git' }, '')).toMatch(
      /github\.com/,
    );
    expect(failureMessage('auth', { action: 'clone', url: 'git@github.com:OCA/web.git' }, '')).toMatch(/deploy key/);
    expect(failureMessage('auth', { action: 'clone', url: 'https://github.com/OCA/web.git' }, '')).toMatch(
      /use its ssh URL/,
    );
    expect(failureMessage('branch-missing', { action: 'clone', url: 'u', branch: '18.0' }, '')).toMatch(/"18\.0"/);
  });
});
