/**
 * `text` as a LIKE pattern matching it anywhere: its own `%`, `_` and `\` stand for themselves
 * (backslash is PostgreSQL's default LIKE escape), so a search for "a_b" does not match "axb".
 */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
