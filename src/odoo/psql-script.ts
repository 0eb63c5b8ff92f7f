import { Transform, type TransformCallback } from 'node:stream';
import { ArchiveError } from './backup-archive.js';

/**
 * A guard for the `dump.sql` of an imported zip, which is loaded the way Odoo loads it: `psql -f`.
 * psql runs its own backslash commands (`\!` a shell, `\o |cmd`, `\copy` files, `\connect`
 * elsewhere) wherever a backslash stands outside quotes, comments and COPY data, so a dump is
 * refused if it holds any other than `\restrict`/`\unrestrict` (recent pg_dump's first and last
 * lines). The scan follows psql's lexer; where it cannot be sure what psql would do it refuses
 * rather than guess: a missed command would run, a refused dump only needs a clean pg_dump.
 * A script can still change how psql reads what follows (its client encoding, at run time), which
 * no scan ahead of time can follow: the load therefore also runs in a container that holds nothing
 * but the dump and the role's own credentials and reaches nothing but the database server.
 */

/** SQL lines are held whole while scanned (COPY data is not): no SQL statement of a dump is this long. */
const MAX_SQL_LINE = 32 * 1024 * 1024;
const ALLOWED = /^\\(restrict|unrestrict)[ \t]+[A-Za-z0-9]{1,256}[ \t]*\r?$/;
const DOLLAR_TAG = /^\$(?:[A-Za-z\x80-\xff_][A-Za-z\x80-\xff_0-9]*)?\$/;
const WORD_CHAR = /[A-Za-z\x80-\xff_0-9$]/;

export class PsqlScriptScanner {
  private line = 1;
  private mode: 'sql' | 'data' = 'sql';
  private pending = '';
  /** Data mode: the first bytes of the current line and its length (a terminator is `\.` alone). */
  private dataHead = '';
  private dataLength = 0;
  private state: 'outside' | 'quote' | 'ident' | 'dollar' | 'comment' = 'outside';
  private dollarTag = '';
  private commentDepth = 0;
  private parenDepth = 0;
  /** The statement's first words (upper case), what psql and the server decide on. */
  private words: string[] = [];
  private lastWord = '';
  private fromStdin = false;
  /** A statement that is not only whitespace and comments has begun. */
  private started = false;
  /** psql tracks BEGIN…END in SQL-standard function bodies; past one, COPY data is not recognized. */
  private bodies = false;
  private copyFollows = false;

  /** Scans the next piece of the script (bytes as latin1: one character per byte); throws on refusal. */
  write(text: string): void {
    // psql reads lines as C strings: what follows a NUL byte is not what it runs.
    if (text.includes('\0')) this.refuse(`line ${this.line} holds a NUL byte`);
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      const end = newline < 0 ? text.length : newline;
      if (this.mode === 'data') this.dataPart(text, start, end);
      else {
        if (this.pending.length + (end - start) > MAX_SQL_LINE)
          this.refuse(`line ${this.line} is longer than ${MAX_SQL_LINE / 1024 / 1024} MiB`);
        this.pending += text.slice(start, end);
      }
      if (newline < 0) return;
      this.endLine();
      start = newline + 1;
    }
  }

  /** The end of the script: a last line without a newline is scanned too. */
  end(): void {
    if (this.mode === 'sql' && this.pending !== '') this.endLine();
  }

  private refuse(why: string): never {
    throw new ArchiveError(
      'unsafe-sql',
      `The archive's dump.sql cannot be loaded safely: ${why}. Marina runs dump.sql with psql, and refuses psql's own backslash commands (only \\restrict and \\unrestrict, which pg_dump writes, are accepted): make the dump again with pg_dump, without editing it.`,
    );
  }

  private dataPart(text: string, from: number, to: number): void {
    if (this.dataHead.length < 3) this.dataHead += text.slice(from, Math.min(to, from + 3 - this.dataHead.length));
    this.dataLength += to - from;
  }

  private endLine(): void {
    if (this.mode === 'data') {
      // Any line that starts with "\." is taken as the end (psql ends at "\." alone): ending early
      // can only make the scan stricter, and anything after it on the line is refused.
      if (this.dataHead.startsWith('\\.')) {
        if (!(this.dataLength === 2 || (this.dataLength === 3 && this.dataHead[2] === '\r')))
          this.refuse(`line ${this.line} has text after the end of COPY data ("\\.")`);
        this.mode = 'sql';
      }
      this.dataHead = '';
      this.dataLength = 0;
    } else {
      const text = this.pending;
      this.pending = '';
      this.sqlLine(text);
      if (this.copyFollows) {
        this.copyFollows = false;
        this.mode = 'data';
      }
    }
    this.line++;
  }

  private sqlLine(line: string): void {
    let i = 0;
    const n = line.length;
    while (i < n) {
      switch (this.state) {
        case 'quote': {
          const q = line.indexOf("'", i);
          if (q < 0) return;
          // Whether a backslash escapes the quote depends on standard_conforming_strings (and E''),
          // which the script itself can change: a quote after an odd run of backslashes is refused,
          // so that both readings end every string at the same place.
          let run = 0;
          while (q - run - 1 >= i && line[q - run - 1] === '\\') run++;
          if (run % 2 === 1) this.refuse(`line ${this.line} has a string literal with a backslash before a quote`);
          if (line[q + 1] === "'") i = q + 2;
          else {
            this.state = 'outside';
            i = q + 1;
          }
          break;
        }
        case 'ident': {
          const q = line.indexOf('"', i);
          if (q < 0) return;
          if (line[q + 1] === '"') i = q + 2;
          else {
            this.state = 'outside';
            i = q + 1;
          }
          break;
        }
        case 'dollar': {
          const close = line.indexOf(this.dollarTag, i);
          if (close < 0) return;
          this.state = 'outside';
          i = close + this.dollarTag.length;
          break;
        }
        case 'comment': {
          const open = line.indexOf('/*', i);
          const close = line.indexOf('*/', i);
          if (close < 0 && open < 0) return;
          if (open >= 0 && (close < 0 || open < close)) {
            this.commentDepth++;
            i = open + 2;
          } else {
            this.commentDepth--;
            i = close + 2;
            if (this.commentDepth === 0) this.state = 'outside';
          }
          break;
        }
        case 'outside':
          i = this.outside(line, i);
          break;
      }
    }
  }

  /** Scans SQL outside quotes and comments from `i`; returns where the next state starts. */
  private outside(line: string, from: number): number {
    let i = from;
    const n = line.length;
    while (i < n) {
      const c = line[i] as string;
      const next = line[i + 1];
      if (c === "'") {
        this.started = true;
        this.lastWord = '';
        this.state = 'quote';
        return i + 1;
      }
      if (c === '"') {
        this.started = true;
        this.lastWord = '';
        this.state = 'ident';
        return i + 1;
      }
      if (c === '-' && next === '-') return n;
      if (c === '/' && next === '*') {
        this.state = 'comment';
        this.commentDepth = 1;
        return i + 2;
      }
      if (c === '\\') {
        const before = line.slice(0, i).trim();
        if (before === '' && !this.started && ALLOWED.test(line.slice(i))) return n;
        const name = /^\\[^\s\\]{0,20}/.exec(line.slice(i))?.[0] ?? '\\';
        this.refuse(`line ${this.line} holds the psql command ${JSON.stringify(name)}`);
      }
      if (c === '$' && !(i > 0 && WORD_CHAR.test(line[i - 1] as string))) {
        const tag = DOLLAR_TAG.exec(line.slice(i, i + 300))?.[0];
        if (tag) {
          this.started = true;
          this.lastWord = '';
          this.state = 'dollar';
          this.dollarTag = tag;
          return i + tag.length;
        }
      }
      if (WORD_CHAR.test(c) && c !== '$') {
        let j = i + 1;
        while (j < n && WORD_CHAR.test(line[j] as string)) j++;
        this.word(line.slice(i, j).toUpperCase());
        i = j;
        continue;
      }
      if (c === '(') this.parenDepth++;
      else if (c === ')') {
        if (this.parenDepth > 0) this.parenDepth--;
      } else if (c === ';' && this.parenDepth === 0) {
        this.endStatement(line, i);
        i++;
        continue;
      }
      if (!/\s/.test(c)) {
        this.started = true;
        if (c !== '.') this.lastWord = '';
      }
      i++;
    }
    return n;
  }

  private word(word: string): void {
    this.started = true;
    if (this.words.length < 4) this.words.push(word);
    if (this.lastWord === 'FROM' && word === 'STDIN') this.fromStdin = true;
    this.lastWord = word;
    const [first, second, third, fourth] = this.words;
    const routine = (w: string | undefined) => w === 'FUNCTION' || w === 'PROCEDURE';
    const creatingRoutine =
      first === 'CREATE' && (routine(second) || (second === 'OR' && third === 'REPLACE' && routine(fourth)));
    if (creatingRoutine && this.parenDepth === 0 && (word === 'BEGIN' || word === 'CASE')) this.bodies = true;
  }

  private endStatement(line: string, at: number): void {
    const copyIn = this.words[0] === 'COPY' && this.fromStdin && !this.bodies;
    this.words = [];
    this.lastWord = '';
    this.fromStdin = false;
    this.started = false;
    if (!copyIn) return;
    // The data starts on the next line; psql would scan the rest of this one after it.
    if (line.slice(at + 1).trim() !== '') this.refuse(`line ${this.line} has text after a COPY … FROM stdin`);
    this.copyFollows = true;
  }
}

/** A pass-through stream that fails (before the end of the dump reaches psql) on a refused script. */
export function psqlScriptGuard(): Transform {
  const scanner = new PsqlScriptScanner();
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      try {
        scanner.write(chunk.toString('latin1'));
        done(null, chunk);
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        scanner.end();
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
}
