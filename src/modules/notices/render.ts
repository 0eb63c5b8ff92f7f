import type { Liquid, LiquidError } from 'liquidjs';
import { MarinaError } from '../../platform/errors.js';
import { lazyImport } from '../../platform/lazy.js';

/** What a platform admin edits: one mail in one language. */
export interface MailTemplate {
  subject: string;
  html: string;
  text: string;
}

export type TemplatePart = keyof MailTemplate;

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

// Templates are typed by platform admins and fed values that organization admins chose (names):
// no file system, no partials, strict names, and limits so that a loop cannot hold the process.
const safety = {
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  // No include/render/layout can reach a file: the only templates are the ones given as strings.
  templates: {},
  dynamicPartials: false,
  relativeReference: false,
  parseLimit: 1e5,
  renderLimit: 200,
  memoryLimit: 1e7,
  // Dates in mails are UTC, whatever the server's zone.
  timezoneOffset: 0,
} as const;

interface Engines {
  /** For the HTML part: every `{{ value }}` is HTML-escaped (an organization named `<script>` stays text). */
  html: Liquid;
  /** For the text part and the subject: nothing to escape in plain text. */
  text: Liquid;
  LiquidError: typeof LiquidError;
}

/** liquidjs and the two engines are made when the first mail is rendered. */
const loadEngines = lazyImport(async (): Promise<Engines> => {
  const liquid = await import('liquidjs');
  return {
    html: new liquid.Liquid({ ...safety, outputEscape: 'escape' }),
    text: new liquid.Liquid({ ...safety }),
    LiquidError: liquid.LiquidError,
  };
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROLS = /[\x00-\x1f\x7f]+/g;
const MAX_SUBJECT = 200;

/** One line, no control characters: the subject becomes a header (as `oneLine` in notifications.ts). */
export const oneLine = (text: string, max = MAX_SUBJECT): string =>
  text.replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim().slice(0, max);

/** Where a template went wrong, for the editor: which part, line and column. */
export interface TemplateProblem {
  field: TemplatePart;
  line: number | null;
  column: number | null;
  message: string;
}

function problemOf(field: TemplatePart, error: unknown, liquidError: typeof LiquidError): TemplateProblem {
  if (error instanceof liquidError) {
    const [line, column] = error.token?.getPosition?.() ?? [];
    // The library appends ", line:1, col:5" and the source excerpt; the fields carry those.
    const base = (error.originalError?.message ?? error.message).split(', line:')[0] ?? error.message;
    return { field, line: line ?? null, column: column ?? null, message: base.slice(0, 300) };
  }
  return {
    field,
    line: null,
    column: null,
    message: (error instanceof Error ? error.message : String(error)).slice(0, 300),
  };
}

/** A template that does not render with the values given: 400, naming the part, line and column. */
export function templateError(problem: TemplateProblem): MarinaError {
  const where = problem.line === null ? '' : ` (line ${problem.line}, column ${problem.column})`;
  return new MarinaError('MARINA_E_VALIDATION', `The ${problem.field} does not render${where}: ${problem.message}`, {
    field: problem.field,
    line: problem.line,
    column: problem.column,
  });
}

async function renderPart(field: TemplatePart, source: string, vars: Record<string, unknown>): Promise<string> {
  const engines = await loadEngines();
  const engine = field === 'html' ? engines.html : engines.text;
  try {
    const parsed = engine.parse(source);
    return await engine.render(parsed, vars);
  } catch (error) {
    throw templateError(problemOf(field, error, engines.LiquidError));
  }
}

/**
 * Renders the three parts with the values; throws MARINA_E_VALIDATION (400) with the part, line
 * and column when one does not render. Every mail has a text part: an empty one is refused.
 */
export async function renderMail(template: MailTemplate, vars: Record<string, unknown>): Promise<RenderedMail> {
  if (template.text.trim() === '') {
    throw new MarinaError('MARINA_E_VALIDATION', 'Every mail needs a text part: the text is empty.', { field: 'text' });
  }
  const subject = oneLine(await renderPart('subject', template.subject, vars));
  const html = await renderPart('html', template.html, vars);
  const text = await renderPart('text', template.text, vars);
  if (text.trim() === '') {
    throw new MarinaError('MARINA_E_VALIDATION', 'Every mail needs a text part: the text renders empty.', {
      field: 'text',
    });
  }
  if (subject === '') {
    throw new MarinaError('MARINA_E_VALIDATION', 'The subject renders empty.', { field: 'subject' });
  }
  return { subject, html, text };
}
