import { printable } from '@docker-cernvm/cli-kit';
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

/**
 * Words yargs would read into its own fields instead of an option: `-_` (alone or in a cluster such as `-x_`) and
 * `--_` replace the list of positional words and crash its parser, `--$0` the program name. Refused up front.
 */
const PARSER_FIELDS = /^(?:-[^-=]*[_$]|--(?:_|\$0)(?:[=.]|$))/;

/** Runs `docker-cernvm-factory` with these arguments and returns the exit code; never exits the process itself. */
export async function runCli(args: readonly string[], context: CliContext): Promise<number> {
  let handlerStarted = false;
  const field = args.find((word) => PARSER_FIELDS.test(word));
  if (field !== undefined) {
    context.io.stderr(`error: ${printable(`Unknown argument: ${field}`)}\n`);
    return EXIT_USAGE;
  }
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
    // Messages in English whatever LANG says: the same words in logs, docs and tests.
    .detectLocale(false)
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
    // Before a handler runs, the arguments were wrong; after, only errors that say so are usage errors.
    const usage = isUsageError(error) || !handlerStarted;
    // A usage error keeps all of its message (it quotes the argument as given, which may hold a newline); a failure
    // its first line. Control characters are escaped: an argument can neither break the line nor drive the terminal.
    context.io.stderr(`error: ${printable(usage ? message : (message.split('\n')[0] ?? ''))}\n`);
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}
