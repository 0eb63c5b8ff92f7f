/**
 * The rule of machine names (organization and project slugs, instance names) in words, and what a
 * given value breaks of it. Pure and without imports: the server's answers and the web form's live
 * check (web/src/components/FormFields.tsx) both say it in the same words.
 */

/** The rule itself, as the sentence an error message and a form hint share. */
export const SLUG_RULE = 'use lowercase letters, digits and hyphens, and start and end with a letter or digit';

const describeCharacter = (char: string): string => {
  if (char === ' ') return 'a space';
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return `a control character (U+${code.toString(16).padStart(4, '0')})`;
  return `"${char}"`;
};

/** "a", "a and b", "a, b and c". */
const listOf = (items: string[]): string =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;

/** What `value` breaks of the rule (empty when it follows it), each as a short phrase. */
export function slugProblems(value: string, maxLength: number): string[] {
  if (value.length === 0) return ['is empty'];
  const problems: string[] = [];
  const found: string[] = [];
  let uppercase = false;
  for (const char of new Set(value)) {
    if (/[a-z0-9-]/.test(char)) continue;
    if (/[A-Z]/.test(char)) uppercase = true;
    else found.push(describeCharacter(char));
  }
  const what = [...(uppercase ? ['uppercase letters'] : []), ...found];
  if (what.length > 0) problems.push(`has ${listOf(what)}`);
  if (value.startsWith('-')) problems.push('starts with a hyphen');
  if (value.length > 1 && value.endsWith('-')) problems.push('ends with a hyphen');
  if (value.length > maxLength) problems.push(`is ${value.length} characters long (at most ${maxLength})`);
  return problems;
}

/**
 * The whole message for a refused name, or null when `value` is fine:
 * `Use lowercase letters, digits and hyphens, …; "ERP_2024 !" has uppercase letters, "_", a space and "!".`
 */
export function slugMessage(value: string, maxLength: number): string | null {
  const problems = slugProblems(value, maxLength);
  if (problems.length === 0) return null;
  const shown = value.length > 60 ? `${value.slice(0, 57)}…` : value;
  const rule = `${SLUG_RULE[0]?.toUpperCase()}${SLUG_RULE.slice(1)}, at most ${maxLength} characters`;
  return value.length === 0 ? `${rule}.` : `${rule}; "${shown}" ${listOf(problems)}.`;
}
