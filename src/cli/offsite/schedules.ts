import { type Command, Option } from 'commander';
import type { MarinaClient } from '../api/client.js';
import type { Params, RetentionPolicy, Schedule } from '../api/types.js';
import { wholeNumber } from '../args.js';
import { CliUsageError } from '../errors.js';
import { printJson, size, table } from '../output.js';
import { watchJob } from '../progress.js';
import { resolveInstance } from '../resolve.js';
import { duration, machineTimeZone, wallClock } from '../time.js';
import { destinationNames, listDestinations, resolveDestination } from './lookup.js';
import { colour, copiesText, copyMark, scheduleLines } from './render.js';
import { checkTimeZone, specFrom, type TimingOptions } from './schedule-spec.js';

/** What the server keeps when a schedule is new and says nothing of retention. */
const DEFAULT_POLICY: RetentionPolicy = { last: 0, daily: 7, weekly: 4, monthly: 3 };

/** The query of GET /backup-runs: `--trigger` goes as typed, the server checks it. */
type RunQuery = NonNullable<Params<'/api/v1/backup-runs', 'get'>['query']>;

function scheduleOf(c: MarinaClient, instanceId: string) {
  return c.call(c.api.GET('/api/v1/instances/{id}/schedule', { params: { path: { id: instanceId } } }));
}

/** Instances' backup schedules and their runs: `marina schedules …`. */
export function registerScheduleCommands(program: Command, client: () => Promise<MarinaClient>): void {
  const schedules = program.command('schedules').description("instances' backup schedules");

  schedules
    .command('show <instance>')
    .description("an instance's backup schedule (ORGANIZATION/PROJECT/INSTANCE or id)")
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const c = await client();
      const instance = await resolveInstance(c, ref);
      const { schedule } = await scheduleOf(c, instance.id);
      if (opts.json) return printJson(schedule);
      if (!schedule) {
        console.log(`${ref} has no schedule; set one with \`marina schedules set ${ref} --daily 02:00\`.`);
        return;
      }
      const names = await destinationNames(c, instance);
      console.log(`Backup schedule of ${ref}:`);
      for (const line of scheduleLines(schedule, names)) console.log(line);
    });

  schedules
    .command('set <instance>')
    .description('set (or change) the backup schedule; what is not given stays as it was')
    .option('--daily <HH:MM>', 'every day at this time')
    .option('--weekly <day@HH:MM>', 'every week, e.g. sun@02:00 (mon … sun, or 1 = Monday … 7 = Sunday)')
    .option('--monthly <day@HH:MM>', 'every month on this day, e.g. 1@03:30 (29–31: the last day in shorter months)')
    .option('--cron <expression>', "five-field cron, e.g. '30 2 * * 1-5' (at most every 15 minutes)")
    .option('--tz <zone>', `IANA time zone (default: the schedule's, else this machine's: ${machineTimeZone()})`)
    .addOption(new Option('--kind <kind>', 'what to back up').choices(['full', 'database', 'filestore']))
    .addOption(
      new Option('--format <format>', "zip (Odoo's) or native (Marina's fast format)").choices(['zip', 'native']),
    )
    .option(
      '--to <destination>',
      'copy offsite to this destination (name or id); repeat for several',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--local-only', 'no offsite copies')
    .option('--keep-last <n>', 'local retention: keep the last N backups')
    .option('--keep-daily <n>', 'local retention: one a day for N days')
    .option('--keep-weekly <n>', 'local retention: one a week for N weeks')
    .option('--keep-monthly <n>', 'local retention: one a month for N months')
    .option('--verify-every <days>', 'test-restore the newest backup every N days (1–90; 0 or off: never)')
    .option('--enable', 'turn the schedule on')
    .option('--disable', 'turn the schedule off (kept, not run)')
    .option('--json', 'print JSON for scripts')
    .action(
      async (
        ref: string,
        opts: TimingOptions & {
          kind?: Schedule['kind'];
          format?: Schedule['format'];
          to?: string[];
          localOnly?: boolean;
          keepLast?: string;
          keepDaily?: string;
          keepWeekly?: string;
          keepMonthly?: string;
          verifyEvery?: string;
          enable?: boolean;
          disable?: boolean;
          json?: boolean;
        },
      ) => {
        // Everything that can be checked without the server is checked before asking it anything.
        if (opts.enable && opts.disable) throw new CliUsageError('Give --enable or --disable, not both.');
        if (opts.localOnly && opts.to) throw new CliUsageError('Give --to or --local-only, not both.');
        if (opts.tz !== undefined) checkTimeZone(opts.tz);
        specFrom(opts, { kind: 'daily', time: '00:00', timeZone: 'UTC' });
        const keep: Partial<RetentionPolicy> = {};
        for (const [key, option, value] of [
          ['last', '--keep-last', opts.keepLast],
          ['daily', '--keep-daily', opts.keepDaily],
          ['weekly', '--keep-weekly', opts.keepWeekly],
          ['monthly', '--keep-monthly', opts.keepMonthly],
        ] as const)
          if (value !== undefined) keep[key] = wholeNumber(value, option, 0, 1000);
        let verifyEveryDays: number | null | undefined;
        if (opts.verifyEvery !== undefined)
          verifyEveryDays = /^(off|never|0)$/i.test(opts.verifyEvery.trim())
            ? null
            : wholeNumber(opts.verifyEvery, '--verify-every', 1, 90);

        const c = await client();
        const instance = await resolveInstance(c, ref);
        const { schedule: current } = await scheduleOf(c, instance.id);
        const spec = specFrom(opts, current?.spec);
        if (!spec)
          throw new CliUsageError(
            `${ref} has no schedule yet: say when, with --daily HH:MM, --weekly DAY@HH:MM, --monthly DAY@HH:MM or --cron 'EXPR'.`,
          );
        let destinationIds = current?.destinationIds ?? [];
        if (opts.localOnly) destinationIds = [];
        if (opts.to) {
          const usable = await listDestinations(c, instance.organizationId);
          destinationIds = [];
          for (const to of opts.to) {
            const found = await resolveDestination(c, to, instance.organizationId, usable);
            if (!destinationIds.includes(found.id)) destinationIds.push(found.id);
          }
          if (destinationIds.length > 10) throw new CliUsageError('--to: at most 10 destinations.');
        }
        const retentionDestinations = Object.fromEntries(
          Object.entries(current?.retention.destinations ?? {}).filter(([id]) => destinationIds.includes(id)),
        );
        const body = {
          enabled: opts.disable ? false : opts.enable ? true : (current?.enabled ?? true),
          spec,
          kind: opts.kind ?? current?.kind,
          format: opts.format ?? current?.format,
          destinationIds,
          retention: {
            local: { ...DEFAULT_POLICY, ...current?.retention.local, ...keep },
            destinations: retentionDestinations,
          },
          verifyEveryDays: verifyEveryDays === undefined ? (current?.verifyEveryDays ?? null) : verifyEveryDays,
        };
        const data = await c.call(
          c.api.PUT('/api/v1/instances/{id}/schedule', { params: { path: { id: instance.id } }, body }),
        );
        if (opts.json) return printJson(data.schedule);
        const names = await destinationNames(c, instance);
        console.log(`Saved the backup schedule of ${ref}:`);
        for (const line of scheduleLines(data.schedule, names)) console.log(line);
      },
    );

  schedules
    .command('run <instance>')
    .description("run the schedule's backup now, with its offsite copies and retention")
    .option('--no-wait', 'return once the job is queued')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { wait: boolean; json?: boolean }) => {
      const c = await client();
      const instance = await resolveInstance(c, ref);
      const { backup, job } = await c.call(
        c.api.POST('/api/v1/instances/{id}/schedule/run', { params: { path: { id: instance.id } } }),
      );
      if (!opts.wait) {
        if (opts.json) printJson({ backup, job });
        else console.log(`Backup ${backup.id} started; follow it with \`marina jobs watch ${job.id}\`.`);
        return;
      }
      if (!opts.json) console.log(`Backup ${backup.id} (${backup.kind}, ${backup.format}) started.`);
      const final = await watchJob(c, job.id);
      const { backup: done } = await c.call(c.api.GET('/api/v1/backups/{id}', { params: { path: { id: backup.id } } }));
      if (opts.json) printJson({ backup: done, job: final });
      else {
        if (done.status === 'completed') console.log(`${size(done.sizeBytes)}, sha256 ${done.sha256}`);
        for (const copy of done.copies)
          console.log(
            `  ${copyMark[copy.status]} ${copy.destinationName}: ${copy.status}${copy.encrypted ? ' (encrypted)' : ''}${copy.error ? ` — ${copy.error}` : ''}`,
          );
      }
      if (final.status !== 'succeeded') {
        const at = final.error?.step ? ` at step "${final.error.step}"` : '';
        throw new Error(`The backup failed${at}: ${final.error?.message ?? final.status}`);
      }
      if (!opts.json) console.log('Done.');
    });

  schedules
    .command('history <instance>')
    .description("an instance's backup runs with their offsite copies, newest first")
    .option('--problems', 'only runs where the backup or a copy failed')
    .option('--trigger <trigger>', 'only this trigger: schedule, manual, pre-restore, pre-update, pre-delete, import')
    .option('--limit <n>', 'how many runs (1–500)', '50')
    .option('--json', 'print JSON for scripts')
    .action(
      async (
        ref: string,
        opts: { problems?: boolean; trigger?: RunQuery['trigger']; limit: string; json?: boolean },
      ) => {
        const limit = wholeNumber(opts.limit, '--limit', 1, 500);
        const c = await client();
        const instance = await resolveInstance(c, ref);
        const { runs } = await c.call(
          c.api.GET('/api/v1/backup-runs', {
            params: {
              query: {
                instanceId: instance.id,
                status: opts.problems ? 'problem' : undefined,
                trigger: opts.trigger,
                limit,
              },
            },
          }),
        );
        if (opts.json) return printJson(runs);
        const lines = table(
          runs.map((r) => ({
            time: wallClock(r.startedAt ?? r.createdAt),
            trigger: r.trigger,
            status: r.problem && r.status === 'completed' ? 'copy failed' : r.status,
            duration: duration(r.durationMs),
            size: size(r.sizeBytes),
            copies: copiesText(r.copies),
            '': r.problem ? '!' : '',
          })),
          ['time', 'trigger', 'status', 'duration', 'size', 'copies', ''],
        ).split('\n');
        const red = colour();
        console.log(
          lines.map((line, i) => (red && i > 0 && runs[i - 1]?.problem ? `\x1b[31m${line}\x1b[0m` : line)).join('\n'),
        );
        const problems = runs.filter((r) => r.problem);
        for (const run of problems.slice(0, 5)) {
          const why = [
            run.error,
            ...run.copies.filter((cp) => cp.status === 'failed').map((cp) => `${cp.destinationName}: ${cp.error}`),
          ]
            .filter(Boolean)
            .join('; ');
          console.log(`! ${wallClock(run.startedAt ?? run.createdAt)}: ${why || 'failed'}`);
        }
      },
    );
}
