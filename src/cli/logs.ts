import { type Command, Option } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { LogEntry, LogLevel } from './api/types.js';
import { CliUsageError } from './errors.js';
import { resolveInstance } from './resolve.js';

/** An instance's Odoo log, or Marina's own: `marina logs …`. */

/** The "state" event of a log stream: the container stopped or started (not in the OpenAPI document: SSE). */
interface StreamState {
  container: string;
}

const levelColors: Record<string, string> = {
  DEBUG: '\x1b[90m',
  WARNING: '\x1b[33m',
  ERROR: '\x1b[31m',
  CRITICAL: '\x1b[1;31m',
};

function printEntry(entry: LogEntry, color: boolean): void {
  const head = entry.level
    ? `${entry.time?.replace('T', ' ').slice(0, 23) ?? ''} ${entry.level} ${entry.database ?? '?'} ${entry.logger ?? ''}: ${entry.message}`
    : entry.message;
  const text = [head, ...entry.continuation].join('\n');
  const paint = color && entry.level ? levelColors[entry.level] : undefined;
  process.stdout.write(paint ? `${paint}${text}\x1b[0m\n` : `${text}\n`);
}

/** The log's events as they come, until the server closes the stream. */
async function* events(stream: AsyncIterable<Uint8Array>): AsyncGenerator<{ event?: string; data?: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let split = buffer.indexOf('\n\n');
    while (split >= 0) {
      const block = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      split = buffer.indexOf('\n\n');
      yield { data: /^data: (.+)$/m.exec(block)?.[1], event: /^event: (.+)$/m.exec(block)?.[1] };
    }
  }
}

export function registerLogCommand(program: Command, client: () => Promise<MarinaClient>): void {
  program
    .command('logs <instance>')
    .description('an instance\'s Odoo log (ORGANIZATION/PROJECT/INSTANCE or id; "marina" for Marina\'s own, admins)')
    .option('-f, --follow', 'keep following new lines')
    .option('--tail <n>', 'how many entries to start with (50 to 10000)', '200')
    .addOption(
      new Option('--level <level>', 'minimum level').choices(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']),
    )
    .option('--grep <text>', 'only entries containing this text')
    .option('--json', 'one JSON entry per line')
    .action(
      async (
        ref: string,
        opts: { follow?: boolean; tail: string; level?: LogLevel; grep?: string; json?: boolean },
      ) => {
        const tail = Number(opts.tail);
        if (!Number.isInteger(tail) || tail < 50 || tail > 10_000)
          throw new CliUsageError('--tail: give a whole number from 50 to 10000.');
        const c = await client();
        const id = ref === 'marina' ? undefined : (await resolveInstance(c, ref)).id;
        const query = { tail, level: opts.level, q: opts.grep };
        const color = process.stdout.isTTY === true && !opts.json;
        const show = (entry: LogEntry) =>
          opts.json ? process.stdout.write(`${JSON.stringify(entry)}\n`) : printEntry(entry, color);
        if (!opts.follow) {
          const { entries } = await c.call(
            id === undefined
              ? c.api.GET('/api/v1/system/logs', { params: { query } })
              : c.api.GET('/api/v1/instances/{id}/logs', { params: { path: { id }, query } }),
          );
          for (const entry of entries) show(entry);
          return;
        }
        const stream =
          id === undefined
            ? await c.stream('/api/v1/system/logs/stream', { query })
            : await c.stream('/api/v1/instances/{id}/logs/stream', { path: { id }, query });
        for await (const { event, data } of events(stream)) {
          if (event === 'entry' && data) show(JSON.parse(data) as LogEntry);
          if (event === 'state' && data && !opts.json) {
            const state = JSON.parse(data) as StreamState;
            if (state.container !== 'running')
              process.stderr.write(`-- the container is ${state.container}; waiting for it --\n`);
          }
        }
      },
    );
}
