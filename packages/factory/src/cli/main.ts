import yargs from 'yargs';
import { drainCommand, resumeCommand, scaleCommand, statusCommand } from './commands/control.js';
import { startCommand } from './commands/start.js';
import type { CliContext } from './context.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Errors from the packages below (PilotError, MounterError) carry the same usage flag. */
function isUsageError(error: unknown): boolean {
  return (error as { isUsageError?: boolean }).isUsageError === true;
}

/** Runs `docker-cernvm-factory` with these arguments and returns the exit code; never exits the process itself. */
export async function runCli(args: readonly string[], context: CliContext): Promise<number> {
  let handlerStarted = false;
  const parser = yargs([...args])
    .scriptName('docker-cernvm-factory')
    .usage('$0 <command> [options]\n\nKeep N one-core HTCondor pilot slots running on this Docker host.')
    .command(startCommand(context, args))
    .command(scaleCommand(context))
    .command(drainCommand(context))
    .command(resumeCommand(context))
    .command(statusCommand(context))
    .middleware(() => {
      handlerStarted = true;
    }, false)
    .demandCommand(1, 'name a command: start, scale, drain, resume or status')
    .strict()
    // A flag given twice means the last one, as a service file overridden by hand expects (`--no-pin … --pin`).
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .exitProcess(false)
    .fail(false)
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110));
  try {
    await parser.parseAsync();
    return EXIT_OK;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    context.io.stderr(`error: ${message.split('\n')[0]}\n`);
    // Before a handler runs, the arguments were wrong; after, only errors that say so are usage errors.
    if (isUsageError(error) || !handlerStarted) return EXIT_USAGE;
    return EXIT_FAILURE;
  }
}
