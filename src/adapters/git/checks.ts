import { isAbsolute, normalize, sep } from 'node:path';
import { branchProblem, parseRepoUrl } from '../../modules/code/repo-validation.js';
import { GitError } from './errors.js';
import type { CommitInfo, GitAccess } from './git.js';

/** What every git command checks before it runs, and how its answers are read. */

export const COMMIT_FORMAT = '%H%x00%an%x00%ae%x00%aI%x00%s';

export function parseCommits(stdout: string): CommitInfo[] {
  const fields = stdout.split('\0');
  if (fields[fields.length - 1] === '') fields.pop();
  const commits: CommitInfo[] = [];
  for (let i = 0; i + 4 < fields.length; i += 5) {
    const [hash, author, email, date, subject] = fields.slice(i, i + 5) as [string, string, string, string, string];
    commits.push({ hash: hash.replace(/^\n/, ''), author, email, date, subject });
  }
  return commits;
}

export function checkUrl(url: string, access: GitAccess): void {
  if (typeof url !== 'string' || url.startsWith('-'))
    throw new GitError('protocol', 'A repository URL must not start with "-": git would read it as an option.', '');
  try {
    parseRepoUrl(url, { allowFile: access.allowFile === true });
  } catch (error) {
    throw new GitError('protocol', `The repository URL is refused: ${(error as Error).message}`, '');
  }
}

export function checkBranch(branch: string): void {
  const problem = typeof branch === 'string' ? branchProblem(branch) : 'The branch name is missing.';
  if (problem) throw new GitError('other', `The branch name is refused: ${problem}`, '');
}

export function checkDir(dir: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (typeof dir !== 'string' || !isAbsolute(dir) || /[\x00-\x1f\x7f]/.test(dir))
    throw new GitError('other', `The checkout folder must be an absolute path without control characters.`, '');
  const normalized = normalize(dir);
  return normalized.length > 1 && normalized.endsWith(sep) ? normalized.slice(0, -1) : normalized;
}

export function normalizeKey(key: string): string {
  const text = key.replace(/\r\n/g, '\n').trim();
  if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----\n[\s\S]+\n-----END [A-Z ]*PRIVATE KEY-----$/.test(text))
    throw new GitError('auth', 'The deploy key is not an OpenSSH or PEM private key.', '');
  return `${text}\n`;
}

export function normalizeKnownHosts(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: only newlines separate entries
  if (/[\x00-\x09\x0b-\x1f\x7f]/.test(text.replace(/\r\n/g, '\n')))
    throw new GitError('host-key', 'The pinned host keys hold control characters: scan the host keys again.', '');
  const lines = text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
