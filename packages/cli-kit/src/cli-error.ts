/**
 * What every docker-cernvm package's error class derives from: a stable `code` a script can branch on, a message
 * for the site admin, and whether the input (exit 2) or the system (exit 1) was at fault.
 */
export abstract class CliError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True when the input was at fault rather than the system: exit code 2, nothing changed. */
  abstract get isUsageError(): boolean;
}
