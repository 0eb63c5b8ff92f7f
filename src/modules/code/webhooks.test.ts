import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type HookHeaders, type HookOutcome, verifyPush } from './webhooks.js';

const SECRET = 'whsec_6f1d0c2b9a8e4f7d';
const HEAD = '9fceb02d0ae598e95dc970b74767f19372d61af8';
const BEFORE = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const ZEROS = '0000000000000000000000000000000000000000';

const hmac = (body: Buffer, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');
const json = (value: unknown) => Buffer.from(JSON.stringify(value, null, 2));

/** A trimmed but faithful GitHub push payload (fields as GitHub documents them). */
function githubPush(overrides: Record<string, unknown> = {}) {
  return {
    ref: 'refs/heads/main',
    before: BEFORE,
    after: HEAD,
    repository: { id: 1296269, name: 'erp-addons', full_name: 'acme/erp-addons', private: true },
    pusher: { name: 'octocat', email: 'octocat@github.com' },
    sender: { login: 'octocat', id: 1 },
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `https://github.com/acme/erp-addons/compare/${BEFORE.slice(0, 12)}...${HEAD.slice(0, 12)}`,
    commits: [
      {
        id: HEAD,
        tree_id: 'f9d2a07e9488b91af2641b26b9407fe22a451433',
        distinct: true,
        message: 'sale_custom: add delivery date\n\nCloses #12',
        timestamp: '2026-03-02T10:15:00+01:00',
        author: { name: 'Mona', email: 'mona@acme.test', username: 'mona' },
        added: [],
        removed: [],
        modified: ['sale_custom/models/sale_order.py'],
      },
    ],
    head_commit: {
      id: HEAD,
      tree_id: 'f9d2a07e9488b91af2641b26b9407fe22a451433',
      message: 'sale_custom: add delivery date\n\nCloses #12',
      timestamp: '2026-03-02T10:15:00+01:00',
    },
    ...overrides,
  };
}

function githubHeaders(body: Buffer, event = 'push', extra: HookHeaders = {}): HookHeaders {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/a1b2c3d',
    'x-github-event': event,
    'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    'x-github-hook-id': '292430182',
    'x-hub-signature': `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`,
    'x-hub-signature-256': `sha256=${hmac(body)}`,
    ...extra,
  };
}

/** A trimmed GitLab "Push Hook" payload (GitLab lists commits, newest last, and has no head_commit). */
function gitlabPush(overrides: Record<string, unknown> = {}) {
  return {
    object_kind: 'push',
    event_name: 'push',
    before: BEFORE,
    after: HEAD,
    ref: 'refs/heads/staging',
    ref_protected: true,
    checkout_sha: HEAD,
    user_id: 4,
    user_name: 'John Smith',
    user_username: 'jsmith',
    user_email: '',
    project_id: 15,
    project: { id: 15, name: 'erp-addons', path_with_namespace: 'acme/erp-addons', default_branch: 'main' },
    commits: [
      {
        id: BEFORE,
        message: 'Update Catalan translation\n',
        title: 'Update Catalan translation',
        timestamp: '2026-03-01T09:00:00+01:00',
        author: { name: 'Jordi', email: 'jordi@acme.test' },
      },
      {
        id: HEAD,
        message: 'fixed readme\n',
        title: 'fixed readme',
        timestamp: '2026-03-02T09:00:00+01:00',
        author: { name: 'John Smith', email: 'john@acme.test' },
      },
    ],
    total_commits_count: 2,
    repository: { name: 'erp-addons', git_ssh_url: 'git@gitlab.acme.test:acme/erp-addons.git' },
    ...overrides,
  };
}

function gitlabHeaders(event = 'Push Hook', token: string | null = SECRET): HookHeaders {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitLab/17.9.0',
    'x-gitlab-event': event,
    'x-gitlab-instance': 'https://gitlab.acme.test',
    'x-gitlab-webhook-uuid': '5f1e3b2a-8c1d-4f6e-9a7b-0c2d4e6f8a1b',
    'x-gitlab-event-uuid': '13792a34-cac6-4fda-95a8-c58e00a3954e',
    ...(token === null ? {} : { 'x-gitlab-token': token }),
  };
}

/** A trimmed Gitea push payload (Gitea 1.2x: head_commit, pusher with login/username). */
function giteaPush(overrides: Record<string, unknown> = {}) {
  return {
    ref: 'refs/heads/dev/feature-x',
    before: BEFORE,
    after: HEAD,
    compare_url: `https://gitea.acme.test/acme/erp-addons/compare/${BEFORE}...${HEAD}`,
    commits: [
      {
        id: HEAD,
        message: 'stock_extra: new report\n',
        url: `https://gitea.acme.test/acme/erp-addons/commit/${HEAD}`,
        author: { name: 'Lin', email: 'lin@acme.test', username: 'lin' },
        timestamp: '2026-03-02T11:00:00+01:00',
      },
    ],
    total_commits: 1,
    head_commit: {
      id: HEAD,
      message: 'stock_extra: new report\n',
      url: `https://gitea.acme.test/acme/erp-addons/commit/${HEAD}`,
    },
    repository: { id: 7, name: 'erp-addons', full_name: 'acme/erp-addons', private: true },
    pusher: { id: 3, login: 'lin', full_name: 'Lin', email: 'lin@acme.test', username: 'lin' },
    sender: { id: 3, login: 'lin', username: 'lin' },
    ...overrides,
  };
}

/** Gitea's headers: it ALSO sends the GitHub and Gogs ones, which must not fool the detection. */
function giteaHeaders(body: Buffer, event = 'push', secret = SECRET): HookHeaders {
  const signature = hmac(body, secret);
  return {
    'content-type': 'application/json',
    'user-agent': 'Go-http-client/1.1',
    'x-gitea-delivery': 'a0b1c2d3-e4f5-6789-abcd-ef0123456789',
    'x-gitea-event': event,
    'x-gitea-event-type': event,
    'x-gitea-signature': signature,
    'x-gogs-delivery': 'a0b1c2d3-e4f5-6789-abcd-ef0123456789',
    'x-gogs-event': event,
    'x-gogs-signature': signature,
    'x-github-delivery': 'a0b1c2d3-e4f5-6789-abcd-ef0123456789',
    'x-github-event': event,
    'x-hub-signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
    'x-hub-signature-256': `sha256=${signature}`,
  };
}

function forgejoHeaders(body: Buffer, event = 'push'): HookHeaders {
  const signature = hmac(body);
  return {
    'content-type': 'application/json',
    'x-forgejo-delivery': 'b1c2d3e4-f5a6-7890-bcde-f01234567890',
    'x-forgejo-event': event,
    'x-forgejo-event-type': event,
    'x-forgejo-signature': signature,
    'x-github-event': event,
    'x-hub-signature-256': `sha256=${signature}`,
  };
}

const reasonOf = (outcome: HookOutcome) => (outcome.ok ? 'ok' : outcome.reason);

/** The same bytes with one byte changed (at a place that keeps the JSON valid). */
function alterOneByte(body: Buffer): Buffer {
  const altered = Buffer.from(body);
  const at = altered.indexOf('main') >= 0 ? altered.indexOf('main') : altered.indexOf('"ref"') + 8;
  altered[at] = (altered[at] ?? 0) ^ 0x01;
  return altered;
}

describe('verifyPush — GitHub', () => {
  it('accepts a push signed with the repository secret and reads branch, commit and pusher', () => {
    const body = json(githubPush());
    expect(verifyPush(githubHeaders(body), body, SECRET)).toEqual({
      ok: true,
      event: {
        provider: 'github',
        branch: 'main',
        after: HEAD,
        deleted: false,
        pusher: 'octocat',
        headCommit: { id: HEAD, message: 'sale_custom: add delivery date\n\nCloses #12' },
      },
    });
  });

  it('accepts an upper-case hex signature and a form-encoded payload', () => {
    const body = json(githubPush());
    expect(
      reasonOf(
        verifyPush(
          githubHeaders(body, 'push', { 'x-hub-signature-256': `sha256=${hmac(body).toUpperCase()}` }),
          body,
          SECRET,
        ),
      ),
    ).toBe('ok');
    const form = Buffer.from(new URLSearchParams({ payload: JSON.stringify(githubPush()) }).toString());
    const outcome = verifyPush(
      githubHeaders(form, 'push', { 'content-type': 'application/x-www-form-urlencoded' }),
      form,
      SECRET,
    );
    expect(outcome.ok && outcome.event.branch).toBe('main');
  });

  it('refuses a wrong secret, a forged signature, a body altered by one byte and the sha1 header alone', () => {
    const body = json(githubPush());
    expect(verifyPush(githubHeaders(body), body, 'another-secret')).toMatchObject({ ok: false, reason: 'signature' });
    const forged = githubHeaders(body, 'push', { 'x-hub-signature-256': `sha256=${'ab'.repeat(32)}` });
    expect(reasonOf(verifyPush(forged, body, SECRET))).toBe('signature');
    // A valid HMAC of other bytes (an attacker's own payload signed with a guessed secret).
    const other = json(githubPush({ ref: 'refs/heads/evil' }));
    expect(reasonOf(verifyPush(githubHeaders(other), body, SECRET))).toBe('signature');
    expect(reasonOf(verifyPush(githubHeaders(body), alterOneByte(body), SECRET))).toBe('signature');
    const sha1Only = githubHeaders(body);
    delete sha1Only['x-hub-signature-256'];
    const refused = verifyPush(sha1Only, body, SECRET);
    expect(refused).toMatchObject({ ok: false, reason: 'signature' });
    expect(!refused.ok && refused.message).toMatch(/SHA-1/);
  });

  it('refuses malformed signatures: no prefix, short, non-hex, repeated differently, empty', () => {
    const body = json(githubPush());
    const sig = hmac(body);
    for (const value of [
      sig,
      `sha256=${sig.slice(0, 63)}`,
      `sha256=${sig.slice(0, 62)}zz`,
      `sha1=${sig}`,
      '',
      [`sha256=${sig}`, 'sha256=00'],
    ]) {
      expect(reasonOf(verifyPush(githubHeaders(body, 'push', { 'x-hub-signature-256': value }), body, SECRET))).toBe(
        'signature',
      );
    }
    // The same value twice (a proxy that duplicated the header) is still that value.
    expect(
      reasonOf(
        verifyPush(
          githubHeaders(body, 'push', { 'x-hub-signature-256': [`sha256=${sig}`, `sha256=${sig}`] }),
          body,
          SECRET,
        ),
      ),
    ).toBe('ok');
  });

  it('answers not-push for a correctly signed ping, and signature for an unsigned one', () => {
    const body = json({
      zen: 'Design for failure.',
      hook_id: 292430182,
      hook: { type: 'Repository', events: ['push'] },
    });
    expect(verifyPush(githubHeaders(body, 'ping'), body, SECRET)).toMatchObject({ ok: false, reason: 'not-push' });
    const unsigned = githubHeaders(body, 'ping');
    delete unsigned['x-hub-signature-256'];
    expect(reasonOf(verifyPush(unsigned, body, SECRET))).toBe('signature');
  });

  it('reads a tag push as branch null, and a branch deletion as deleted', () => {
    const tagBody = json(githubPush({ ref: 'refs/tags/v17.0.1.2', base_ref: 'refs/heads/main' }));
    const tag = verifyPush(githubHeaders(tagBody), tagBody, SECRET);
    expect(tag).toMatchObject({ ok: true, event: { branch: null, after: HEAD, deleted: false } });

    const deletion = json(
      githubPush({ ref: 'refs/heads/feature', after: ZEROS, deleted: true, commits: [], head_commit: null }),
    );
    expect(verifyPush(githubHeaders(deletion), deletion, SECRET)).toEqual({
      ok: true,
      event: { provider: 'github', branch: null, after: null, deleted: true, pusher: 'octocat', headCommit: null },
    });
    // All zeros alone means deleted too.
    const zeros = json(githubPush({ after: ZEROS, deleted: undefined, head_commit: null }));
    expect(verifyPush(githubHeaders(zeros), zeros, SECRET)).toMatchObject({ ok: true, event: { deleted: true } });
  });

  it('refuses payloads that verify but are not a push it can read', () => {
    for (const body of [
      Buffer.from('not json'),
      Buffer.from('[1,2]'),
      json(githubPush({ ref: undefined })),
      json(githubPush({ ref: 'refs/heads/a\nb' })),
      json(githubPush({ after: 'HEAD' })),
      json(githubPush({ after: undefined })),
    ]) {
      expect(reasonOf(verifyPush(githubHeaders(body), body, SECRET))).toBe('payload');
    }
  });

  it('accepts SHA-256 object names (64 hex) as commits', () => {
    const sha256 = 'a'.repeat(64);
    const body = json(githubPush({ after: sha256, head_commit: { id: sha256, message: 'x' } }));
    expect(verifyPush(githubHeaders(body), body, SECRET)).toMatchObject({
      ok: true,
      event: { after: sha256, headCommit: { id: sha256 } },
    });
  });
});

describe('verifyPush — Gitea and Forgejo', () => {
  it('detects Gitea before GitHub (it sends X-GitHub-Event too) and checks X-Gitea-Signature', () => {
    const body = json(giteaPush());
    expect(verifyPush(giteaHeaders(body), body, SECRET)).toEqual({
      ok: true,
      event: {
        provider: 'gitea',
        branch: 'dev/feature-x',
        after: HEAD,
        deleted: false,
        pusher: 'lin',
        headCommit: { id: HEAD, message: 'stock_extra: new report\n' },
      },
    });
  });

  it('refuses a Gitea hook whose Gitea signature is wrong even when the GitHub one is right', () => {
    const body = json(giteaPush());
    const headers = giteaHeaders(body);
    headers['x-gitea-signature'] = hmac(body, 'wrong');
    expect(reasonOf(verifyPush(headers, body, SECRET))).toBe('signature');
    delete headers['x-gitea-signature'];
    expect(reasonOf(verifyPush(headers, body, SECRET))).toBe('signature');
  });

  it('refuses a wrong secret and a body altered by one byte', () => {
    const body = json(giteaPush({ ref: 'refs/heads/main' }));
    expect(reasonOf(verifyPush(giteaHeaders(body, 'push', 'nope'), body, SECRET))).toBe('signature');
    expect(reasonOf(verifyPush(giteaHeaders(body), alterOneByte(body), SECRET))).toBe('signature');
  });

  it('takes Forgejo headers, and finds the head commit among the commits when head_commit is absent', () => {
    const body = json(giteaPush({ head_commit: undefined }));
    expect(verifyPush(forgejoHeaders(body), body, SECRET)).toMatchObject({
      ok: true,
      event: { provider: 'gitea', headCommit: { id: HEAD } },
    });
  });

  it('answers not-push for other Gitea events (signed), e.g. create or pull_request', () => {
    const body = json({ ref: 'v1', ref_type: 'tag', sha: HEAD });
    expect(reasonOf(verifyPush(giteaHeaders(body, 'create'), body, SECRET))).toBe('not-push');
    expect(reasonOf(verifyPush(forgejoHeaders(body, 'pull_request'), body, SECRET))).toBe('not-push');
  });

  it('reads a Gitea tag push and a deletion', () => {
    const tag = json(giteaPush({ ref: 'refs/tags/v2.0' }));
    expect(verifyPush(giteaHeaders(tag), tag, SECRET)).toMatchObject({
      ok: true,
      event: { branch: null, deleted: false },
    });
    const gone = json(giteaPush({ after: ZEROS, commits: [], head_commit: null }));
    expect(verifyPush(giteaHeaders(gone), gone, SECRET)).toMatchObject({
      ok: true,
      event: { branch: null, after: null, deleted: true, headCommit: null },
    });
  });
});

describe('verifyPush — GitLab', () => {
  it('accepts a Push Hook whose token equals the secret, and takes the head among the commits', () => {
    const body = json(gitlabPush());
    expect(verifyPush(gitlabHeaders(), body, SECRET)).toEqual({
      ok: true,
      event: {
        provider: 'gitlab',
        branch: 'staging',
        after: HEAD,
        deleted: false,
        pusher: 'jsmith',
        headCommit: { id: HEAD, message: 'fixed readme\n' },
      },
    });
  });

  it('refuses a wrong, missing, longer, shorter or empty token', () => {
    const body = json(gitlabPush());
    for (const token of ['wrong', null, `${SECRET}x`, SECRET.slice(0, -1), '', SECRET.toUpperCase()]) {
      expect(reasonOf(verifyPush(gitlabHeaders('Push Hook', token), body, SECRET))).toBe('signature');
    }
  });

  it('answers not-push for other GitLab events, and reads tag pushes and deletions', () => {
    const mr = json({ object_kind: 'merge_request' });
    expect(reasonOf(verifyPush(gitlabHeaders('Merge Request Hook'), mr, SECRET))).toBe('not-push');
    expect(reasonOf(verifyPush(gitlabHeaders('System Hook'), mr, SECRET))).toBe('not-push');

    const tag = json(
      gitlabPush({ object_kind: 'tag_push', event_name: 'tag_push', ref: 'refs/tags/v1.0.0', commits: [] }),
    );
    expect(verifyPush(gitlabHeaders('Tag Push Hook'), tag, SECRET)).toMatchObject({
      ok: true,
      event: { provider: 'gitlab', branch: null, after: HEAD, headCommit: null },
    });

    const deletion = json(
      gitlabPush({ after: ZEROS, checkout_sha: null, commits: [], total_commits_count: 0, ref: 'refs/heads/old' }),
    );
    expect(verifyPush(gitlabHeaders(), deletion, SECRET)).toEqual({
      ok: true,
      event: { provider: 'gitlab', branch: null, after: null, deleted: true, pusher: 'jsmith', headCommit: null },
    });
  });

  it('refuses a verified Push Hook whose payload is not a push', () => {
    expect(reasonOf(verifyPush(gitlabHeaders(), json({ object_kind: 'note' }), SECRET))).toBe('not-push');
    expect(reasonOf(verifyPush(gitlabHeaders(), Buffer.from('{'), SECRET))).toBe('payload');
  });
});

describe('verifyPush — anything else', () => {
  it('refuses requests without a known event header, and every request when the secret is empty', () => {
    const body = json(githubPush());
    expect(reasonOf(verifyPush({}, body, SECRET))).toBe('signature');
    expect(reasonOf(verifyPush({ 'x-hub-signature-256': `sha256=${hmac(body)}` }, body, SECRET))).toBe('signature');
    expect(reasonOf(verifyPush({ 'x-bitbucket-event': 'repo:push' }, body, SECRET))).toBe('signature');
    const emptySecret = hmac(body, '');
    expect(
      reasonOf(verifyPush(githubHeaders(body, 'push', { 'x-hub-signature-256': `sha256=${emptySecret}` }), body, '')),
    ).toBe('signature');
    expect(reasonOf(verifyPush(gitlabHeaders('Push Hook', ''), json(gitlabPush()), ''))).toBe('signature');
  });

  it('does not parse the body before the signature verified', () => {
    // Invalid JSON with a bad signature is a signature failure, not a payload one.
    const junk = Buffer.from('{"ref": ');
    expect(reasonOf(verifyPush(githubHeaders(Buffer.from('x')), junk, SECRET))).toBe('signature');
  });
});
