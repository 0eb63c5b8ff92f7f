import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Push-to-deploy: verifies a push webhook from GitHub, GitLab or Gitea/Forgejo against the
 * repository's hook secret, then reads the few facts a deploy needs. Pure: no I/O, no clock.
 *
 * Order matters: the signature is checked on the raw bytes first, and the body is parsed only
 * after it verified, so an unauthenticated caller never reaches the JSON parser and learns
 * nothing but "signature".
 */

export type HookProvider = 'github' | 'gitlab' | 'gitea';

export interface PushEvent {
  provider: HookProvider;
  /** The pushed branch; null for tag pushes and for deletions. */
  branch: string | null;
  /** The commit the ref points to after the push; null when the ref was deleted. */
  after: string | null;
  deleted: boolean;
  pusher: string | null;
  headCommit: { id: string; message: string } | null;
}

export type HookOutcome =
  | { ok: true; event: PushEvent }
  | { ok: false; reason: 'signature' | 'not-push' | 'payload'; message: string };

export type HookHeaders = Record<string, string | string[] | undefined>;

const ZERO_SHA = /^0+$/;
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/i;
// Git refs may hold almost anything but control characters; a sane bound keeps logs sane.
const MAX_REF = 1024;

/** Git refuses spaces and control characters in ref names; so does Marina. */
const hasSpaceOrControl = (value: string): boolean =>
  [...value].some((c) => {
    const code = c.charCodeAt(0);
    return code <= 0x20 || code === 0x7f;
  });

const refuse = (reason: 'signature' | 'not-push' | 'payload', message: string): HookOutcome => ({
  ok: false,
  reason,
  message,
});

/** A header's single value: absent, empty or repeated with different values counts as absent. */
function header(headers: HookHeaders, name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    // Callers promise lowercased names; a mixed-case key is still found.
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : headers[key];
  }
  if (Array.isArray(value)) {
    const [first, ...rest] = value;
    if (first === undefined || rest.some((v) => v !== first)) return undefined;
    value = first;
  }
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** Constant-time check of a hex HMAC-SHA256 of the body (only the comparison of equal lengths is timed). */
function hmacMatches(signatureHex: string | undefined, body: Buffer, secret: string): boolean {
  if (signatureHex === undefined || !HEX_SHA256.test(signatureHex)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(signatureHex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Constant-time equality of two secrets of any length: their digests have the same length. */
function tokenMatches(token: string | undefined, secret: string): boolean {
  if (token === undefined) return false;
  const a = createHash('sha256').update(token, 'utf8').digest();
  const b = createHash('sha256').update(secret, 'utf8').digest();
  return a.length === b.length && timingSafeEqual(a, b);
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** The JSON body, or the `payload` field of a form-encoded one (GitHub and Gitea offer both). */
function parseBody(headers: HookHeaders, rawBody: Buffer): Json | undefined {
  const contentType = header(headers, 'content-type')?.toLowerCase() ?? '';
  let source = rawBody.toString('utf8');
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(source).get('payload');
    if (payload === null) return undefined;
    source = payload;
  }
  try {
    const parsed: unknown = JSON.parse(source);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function commitOf(value: unknown): { id: string; message: string } | null {
  if (!isObject(value)) return null;
  const id = text(value.id);
  if (id === null || !SHA.test(id)) return null;
  return { id, message: typeof value.message === 'string' ? value.message : '' };
}

/** The shared shape of the three providers' push payloads: ref, after, deleted, head commit. */
function readPush(provider: HookProvider, body: Json, pusher: string | null, headCommit: unknown): HookOutcome {
  const ref = body.ref;
  if (typeof ref !== 'string' || ref === '' || ref.length > MAX_REF || hasSpaceOrControl(ref)) {
    return refuse('payload', 'The push payload has no valid "ref".');
  }
  const afterRaw = body.after;
  if (typeof afterRaw !== 'string' || !SHA.test(afterRaw)) {
    return refuse('payload', 'The push payload has no valid "after" commit.');
  }
  const after = ZERO_SHA.test(afterRaw) ? null : afterRaw;
  const deleted = body.deleted === true || after === null;
  const branchName = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null;
  const branch = deleted || !branchName ? null : branchName;
  return {
    ok: true,
    event: {
      provider,
      branch,
      after: deleted ? null : after,
      deleted,
      pusher,
      headCommit: deleted ? null : commitOf(headCommit),
    },
  };
}

/** The pushed head among a payload's commits (GitLab lists them, the newest last; it has no head_commit). */
function commitNamed(commits: unknown, id: unknown): unknown {
  if (!Array.isArray(commits) || typeof id !== 'string') return null;
  return commits.find((c) => isObject(c) && c.id === id) ?? null;
}

function verifyGitea(headers: HookHeaders, rawBody: Buffer, secret: string): HookOutcome {
  // Forgejo sends X-Forgejo-* and, for compatibility, X-Gitea-* too.
  const event = header(headers, 'x-gitea-event') ?? header(headers, 'x-forgejo-event');
  const signatures = [header(headers, 'x-gitea-signature'), header(headers, 'x-forgejo-signature')].filter(
    (s): s is string => s !== undefined,
  );
  if (signatures.length === 0) return refuse('signature', 'The Gitea webhook carries no X-Gitea-Signature.');
  if (!signatures.every((s) => hmacMatches(s, rawBody, secret))) {
    return refuse('signature', 'The Gitea webhook signature does not match the repository secret.');
  }
  if (event !== 'push') return refuse('not-push', `Ignored a Gitea "${event}" event: only pushes deploy.`);
  const body = parseBody(headers, rawBody);
  if (!body) return refuse('payload', 'The Gitea push payload is not a JSON object.');
  const pusherObject = isObject(body.pusher) ? body.pusher : {};
  const pusher = text(pusherObject.login) ?? text(pusherObject.username) ?? text(pusherObject.name);
  const head = body.head_commit ?? commitNamed(body.commits, body.after);
  return readPush('gitea', body, pusher, head);
}

function verifyGitHub(headers: HookHeaders, rawBody: Buffer, secret: string): HookOutcome {
  const event = header(headers, 'x-github-event');
  const signature = header(headers, 'x-hub-signature-256');
  if (signature === undefined) {
    return refuse(
      'signature',
      header(headers, 'x-hub-signature') !== undefined
        ? 'The GitHub webhook is signed with SHA-1 only: Marina needs X-Hub-Signature-256.'
        : 'The GitHub webhook carries no X-Hub-Signature-256 (set a secret on the webhook).',
    );
  }
  const hex = signature.toLowerCase().startsWith('sha256=') ? signature.slice('sha256='.length) : undefined;
  if (!hmacMatches(hex, rawBody, secret)) {
    return refuse('signature', 'The GitHub webhook signature does not match the repository secret.');
  }
  if (event !== 'push') return refuse('not-push', `Ignored a GitHub "${event}" event: only pushes deploy.`);
  const body = parseBody(headers, rawBody);
  if (!body) return refuse('payload', 'The GitHub push payload is not a JSON object.');
  const pusher = isObject(body.pusher) ? text(body.pusher.name) : null;
  const sender = isObject(body.sender) ? text(body.sender.login) : null;
  return readPush('github', body, pusher ?? sender, body.head_commit);
}

const GITLAB_PUSH_EVENTS = new Set(['Push Hook', 'Tag Push Hook']);

function verifyGitLab(headers: HookHeaders, rawBody: Buffer, secret: string): HookOutcome {
  const event = header(headers, 'x-gitlab-event');
  // GitLab has no HMAC: it sends the secret token itself.
  if (!tokenMatches(header(headers, 'x-gitlab-token'), secret)) {
    return refuse('signature', 'The GitLab webhook token does not match the repository secret.');
  }
  if (event === undefined || !GITLAB_PUSH_EVENTS.has(event)) {
    return refuse('not-push', `Ignored a GitLab "${event}" event: only pushes deploy.`);
  }
  const body = parseBody(headers, rawBody);
  if (!body) return refuse('payload', 'The GitLab push payload is not a JSON object.');
  if (body.object_kind !== 'push' && body.object_kind !== 'tag_push') {
    return refuse('not-push', `Ignored a GitLab "${String(body.object_kind)}" payload: only pushes deploy.`);
  }
  const pusher = text(body.user_username) ?? text(body.user_name);
  return readPush('gitlab', body, pusher, commitNamed(body.commits, body.after));
}

/**
 * Verifies a push webhook. `headers` as Node gives them (lowercased names), `rawBody` exactly the
 * bytes received (before any JSON parsing), `secret` the repository's hook secret.
 *
 * Provider detection: Gitea (and Forgejo) first, because Gitea also sends X-GitHub-Event and
 * X-Hub-Signature-256; then GitLab; then GitHub. Anything else is refused as 'signature'.
 */
export function verifyPush(headers: HookHeaders, rawBody: Buffer, secret: string): HookOutcome {
  // An empty secret would make every forger's HMAC valid.
  if (secret === '') return refuse('signature', 'The repository has no webhook secret: every webhook is refused.');
  if (header(headers, 'x-gitea-event') !== undefined || header(headers, 'x-forgejo-event') !== undefined) {
    return verifyGitea(headers, rawBody, secret);
  }
  if (header(headers, 'x-gitlab-event') !== undefined) return verifyGitLab(headers, rawBody, secret);
  if (header(headers, 'x-github-event') !== undefined) return verifyGitHub(headers, rawBody, secret);
  return refuse('signature', 'Not a GitHub, GitLab or Gitea webhook (no event header).');
}
