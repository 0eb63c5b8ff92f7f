import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MarinaError } from '../../platform/errors.js';
import {
  branchProblem,
  parseRepoUrl,
  repoNameFromUrl,
  requireBranch,
  requireKnownHosts,
  requireRepoFolder,
  requireSubfolder,
} from './repo-validation.js';

/** The refusal's message, or "accepted". */
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MarinaError);
    expect((error as MarinaError).code).toBe('MARINA_E_VALIDATION');
    return (error as MarinaError).message;
  }
  return 'accepted';
};

const noFile = { allowFile: false };

describe('parseRepoUrl', () => {
  it('accepts https, ssh and scp-like URLs and gives git the URL as given', () => {
    expect(parseRepoUrl('https://github.com/OCA/web.git', noFile)).toEqual({
      scheme: 'https',
      host: 'github.com',
      port: null,
      user: null,
      path: '/OCA/web.git',
      url: 'https://github.com/OCA/web.git',
    });
    expect(parseRepoUrl('https://git.example.com:8443/group/sub-group/repo', noFile)).toMatchObject({
      host: 'git.example.com',
      port: 8443,
      path: '/group/sub-group/repo',
    });
    expect(parseRepoUrl('ssh://git@gitlab.example.com:2222/acme/addons.git', noFile)).toEqual({
      scheme: 'ssh',
      host: 'gitlab.example.com',
      port: 2222,
      user: 'git',
      path: '/acme/addons.git',
      url: 'ssh://git@gitlab.example.com:2222/acme/addons.git',
    });
    expect(parseRepoUrl('ssh://[2001:db8::1]/srv/git/x.git', noFile)).toMatchObject({
      host: '[2001:db8::1]',
      port: null,
    });
    expect(parseRepoUrl('ssh://10.0.0.7/~git/x.git', noFile)).toMatchObject({ host: '10.0.0.7', user: null });
    expect(parseRepoUrl('git@github.com:OCA/web.git', noFile)).toEqual({
      scheme: 'ssh',
      host: 'github.com',
      port: null,
      user: 'git',
      path: 'OCA/web.git',
      url: 'git@github.com:OCA/web.git',
    });
    expect(parseRepoUrl('deploy.user@[::1]:/srv/repo.git', noFile)).toMatchObject({
      host: '[::1]',
      path: '/srv/repo.git',
    });
    expect(parseRepoUrl('git.example.com:acme/repo', noFile)).toMatchObject({ user: null, host: 'git.example.com' });
  });

  it('accepts file:// only when an admin allows local repositories, and says so', () => {
    expect(parseRepoUrl('file:///srv/git/addons.git', { allowFile: true })).toEqual({
      scheme: 'file',
      host: null,
      port: null,
      user: null,
      path: '/srv/git/addons.git',
      url: 'file:///srv/git/addons.git',
    });
    expect(refusal(() => parseRepoUrl('file:///srv/git/addons.git', noFile))).toMatch(
      /a platform admin allows them per organization/,
    );
    for (const url of ['file://localhost/srv/x', 'file:///srv/../etc/x', 'file:///srv/%2e%2e/x', 'file:///'])
      expect(
        refusal(() => parseRepoUrl(url, { allowFile: true })),
        url,
      ).not.toBe('accepted');
    // A plain path is not a URL.
    expect(refusal(() => parseRepoUrl('/srv/git/addons.git', { allowFile: true }))).toMatch(/file:\/\/\/absolute/);
  });

  it('refuses credentials in https URLs and points to ssh and the deploy key', () => {
    for (const url of ['https://user:token@github.com/acme/x.git', 'https://token@github.com/acme/x.git'])
      expect(refusal(() => parseRepoUrl(url, noFile))).toMatch(/ssh URL with the deploy key/);
    expect(refusal(() => parseRepoUrl('ssh://git:secret@host/x.git', noFile))).toMatch(/no password/);
  });

  it('refuses option injection, transport helpers, other schemes and odd characters', () => {
    const refused: [string, RegExp][] = [
      ['-oProxyCommand=touch /tmp/x', /whitespace|start with "-"/],
      ['-oProxyCommand=touch', /start with "-"/],
      ['--upload-pack=x', /start with "-"/],
      ['ext::sh -c touch% /tmp/x', /whitespace|remote helper/],
      ['ext::sh', /remote helper/],
      ['fd::17', /remote helper/],
      ['transport::https://x/y', /remote helper/],
      ['http://github.com/OCA/web.git', /not encrypted/],
      ['git://github.com/OCA/web.git', /git:\/\/ URLs are not allowed/],
      ['ftp://host/x', /not allowed/],
      ['git+ssh://host/x', /not allowed/],
      ['https://github.com/OCA/web.git\n', /control characters/],
      ['https://github.com/OCA/web.git\0', /control characters/],
      ['https://github.com/OCA/we b.git', /whitespace/],
      ['https://github.com/OCA/../web.git', /"\.\."/],
      ['https://github.com/OCA/%2E%2E/web.git', /"\.\."/],
      ['https://github.com/-OCA/web.git', /start with "-"/],
      ['https://github.com', /no repository path/],
      ['https://github.com/', /no repository path/],
      ['https://-github.com/x', /must not start with "-"/],
      ['https://git_hub.com/x', /not a valid host name/],
      ['https://999.1.1.1/x', /not a valid host name/],
      ['https://[::g]/x', /IPv6/],
      ['https://github.com:0/x', /port/],
      ['https://github.com:65536/x', /port/],
      ['https://github.com/x?y=1', /may contain only/],
      ['https://github.com/x#frag', /may contain only/],
      ['ssh://-oProxyCommand=x/repo', /must not start with "-"/],
      ['ssh://us$er@host/repo', /user name/],
      ['ssh://-user@host/repo', /user name/],
      ['git@-oProxyCommand=x:repo.git', /must not start with "-"/],
      ['git@host:-repo.git', /must not start with "-"/],
      ['git@host:', /no repository path/],
      ['git@host:repo/../../x', /"\.\."/],
      ['a;b@host:repo', /user name/],
      ['just-a-name', /not a repository URL/],
      ['', /required/],
      [`https://github.com/${'a'.repeat(500)}`, /longer than 500/],
    ];
    for (const [url, message] of refused)
      expect(
        refusal(() => parseRepoUrl(url, { allowFile: true })),
        url,
      ).toMatch(message);
    expect(refusal(() => parseRepoUrl(42, noFile))).toMatch(/required/);
    expect(refusal(() => parseRepoUrl(null, noFile, 'repository'))).not.toBe('accepted');
  });

  it('puts the field name in the error details', () => {
    try {
      parseRepoUrl('http://x/y', noFile, 'repoUrl');
    } catch (error) {
      expect((error as MarinaError).details).toEqual({ field: 'repoUrl' });
    }
  });

  it('never accepts a URL that starts with "-" or holds whitespace or control characters (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        for (const value of [`-${s}`, `https://github.com/a${s}\n`, `git@host:a b${s}`]) {
          expect(refusal(() => parseRepoUrl(value, { allowFile: true }))).not.toBe('accepted');
        }
      }),
    );
  });

  it('accepted URLs never carry git options or helpers (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        let parsed: ReturnType<typeof parseRepoUrl> | null = null;
        try {
          parsed = parseRepoUrl(s, { allowFile: true });
        } catch {
          return;
        }
        expect(parsed.url.startsWith('-')).toBe(false);
        expect(parsed.url).not.toMatch(/^[A-Za-z][A-Za-z0-9+.-]*::|\s/);
        expect(parsed.path.split('/')).not.toContain('..');
        if (parsed.host) expect(parsed.host.startsWith('-')).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('requireBranch', () => {
  it('accepts ordinary branch names', () => {
    for (const branch of [
      'main',
      '17.0',
      '17.0-mig-web',
      'feature/invoices',
      'release/2024.1',
      'a',
      'fix_@home',
      'x'.repeat(200),
    ])
      expect(requireBranch(branch)).toBe(branch);
  });

  it("refuses what git's check-ref-format refuses, and options", () => {
    for (const branch of [
      '',
      '-b',
      '--upload-pack=x',
      'a..b',
      'a@{1}',
      '@',
      'HEAD',
      '/main',
      'main/',
      'a//b',
      'main.',
      'main.lock',
      'a/b.lock/c',
      '.hidden',
      'a/.b',
      'a b',
      'a\tb',
      'a\nb',
      'a\0b',
      'a~1',
      'a^',
      'a:b',
      'a?',
      'a*',
      'a[b',
      'a\\b',
      'brünch',
      'x'.repeat(201),
    ])
      expect(
        refusal(() => requireBranch(branch)),
        JSON.stringify(branch),
      ).not.toBe('accepted');
    expect(refusal(() => requireBranch(undefined))).toMatch(/required/);
    expect(refusal(() => requireBranch('a..b'))).toMatch(/"\.\.".*Expected a git branch name/);
  });

  it('agrees with the real git check-ref-format on random names', () => {
    const names = fc.sample(fc.stringMatching(/^[a-z0-9./@{~^:*?[\\ -]{1,10}$/), { numRuns: 500, seed: 17 });
    for (const name of names) {
      let git = true;
      try {
        execFileSync('git', ['check-ref-format', `refs/heads/${name}`], { stdio: 'ignore' });
      } catch {
        git = false;
      }
      // Marina also refuses what git would read as an option, and "@" (git's "HEAD").
      if (name.startsWith('-') || name === '@') git = false;
      expect(branchProblem(name) === null, JSON.stringify(name)).toBe(git);
    }
  });
});

describe('folders', () => {
  it('takes repository folder names Odoo and the file system are happy with', () => {
    for (const name of ['web', 'oca-web', 'acme_addons', '0', 'a'.repeat(63)])
      expect(requireRepoFolder(name)).toBe(name);
    for (const name of ['', 'Web', '-web', '_web', 'a/b', '..', '.', 'a b', 'a'.repeat(64), 'wéb', undefined])
      expect(
        refusal(() => requireRepoFolder(name)),
        String(name),
      ).toMatch(/\/mnt\/extra-addons\/<name>/);
  });

  it('takes relative subfolders and refuses escapes', () => {
    expect(requireSubfolder('')).toBe('');
    expect(requireSubfolder(undefined)).toBe('');
    for (const sub of ['addons', 'src/addons', 'odoo_addons/v1.0', 'a-b/c_d']) expect(requireSubfolder(sub)).toBe(sub);
    for (const sub of [
      '/addons',
      'addons/',
      '..',
      'a/../b',
      './a',
      'a/./b',
      '-a',
      'a/-b',
      'a//b',
      'a b',
      'a\\b',
      'a\nb',
      'x'.repeat(201),
      5,
    ])
      expect(
        refusal(() => requireSubfolder(sub)),
        String(sub),
      ).not.toBe('accepted');
  });

  it('derives a valid folder name from a URL', () => {
    const name = (url: string) => repoNameFromUrl(parseRepoUrl(url, { allowFile: true }));
    expect(name('git@github.com:OCA/web.git')).toBe('web');
    expect(name('https://github.com/OCA/Server-Tools.git')).toBe('server-tools');
    expect(name('https://github.com/acme/odoo.addons/')).toBe('odoo_addons');
    expect(name('ssh://git@host/~user/_private.git')).toBe('private');
    expect(name('file:///srv/git/My_Repo.git')).toBe('my_repo');
    expect(name('https://host/___')).toBe('repo');
    expect(name(`https://host/${'a'.repeat(100)}`)).toBe('a'.repeat(63));
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._~%+-]{1,80}$/), (segment) => {
        let url: ReturnType<typeof parseRepoUrl>;
        try {
          url = parseRepoUrl(`https://host/x/${segment}`, noFile);
        } catch {
          return;
        }
        expect(requireRepoFolder(repoNameFromUrl(url))).toBeTruthy();
      }),
    );
  });
});

describe('requireKnownHosts', () => {
  it('keeps known_hosts lines and refuses anything else', () => {
    const line =
      '[git.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    expect(requireKnownHosts(`# scanned\n${line}\r\n\n`)).toBe(`${line}\n`);
    for (const bad of ['', '# only a comment', 'garbage', `${line}\nhost ssh-ed25519`, `${line}\0`, 42])
      expect(
        refusal(() => requireKnownHosts(bad)),
        String(bad),
      ).not.toBe('accepted');
  });
});
