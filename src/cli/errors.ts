/** Exit codes scripts can rely on. */
export const exitCodes = { ok: 0, error: 1, usage: 2, unauthenticated: 3, notFound: 4, unreachable: 5 } as const;

/** A failure the CLI itself finds, with the exit code it ends with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = exitCodes.error,
  ) {
    super(message);
  }
}

/** Bad input: the command line names something that does not exist or cannot be. Exit code 2. */
export class CliUsageError extends Error {}
