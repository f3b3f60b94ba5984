import yargs, { type CommandModule } from 'yargs';
import { PilotError } from '../errors.js';
import { printable } from '@docker-cernvm/cli-kit';
import { renderCommand } from './commands/render.js';
import { runCommand } from './commands/run.js';
import type { CliContext } from './context.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Words yargs would read into its own fields instead of an option: `-_` (alone or in a cluster such as `-x_`) and
 * `--_` replace the list of positional words and crash its parser, `--$0` the program name. Refused up front.
 */
const PARSER_FIELDS = /^(?:-[^-=]*[_$]|--(?:_|\$0)(?:[=.]|$))/;

/** Runs `docker-cernvm-pilot` with these arguments and returns the exit code; never exits the process itself. */
export async function runCli(args: readonly string[], context: CliContext): Promise<number> {
  // Anything that fails before a command's handler runs is a usage error: the arguments were wrong. The handler
  // marks its own start: a middleware would run before a command's .check(), whose refusals are usage errors too.
  let handlerStarted = false;
  const started = <T>(command: CommandModule<object, T>): CommandModule<object, T> => ({
    ...command,
    handler: (argv) => {
      handlerStarted = true;
      return command.handler(argv);
    },
  });
  let exitCode = EXIT_OK;
  const field = args.find((word) => PARSER_FIELDS.test(word));
  if (field !== undefined) {
    context.io.stderr(`error: ${printable(`Unknown argument: ${field}`)}\n`);
    return EXIT_USAGE;
  }
  const parser = yargs([...args])
    .scriptName('docker-cernvm-pilot')
    .usage('$0 <command> [options]\n\nOne HTCondor execute slot in a CernVM container.')
    .command(started(renderCommand(context)))
    .command(started(runCommand(context, (code) => (exitCode = code))))
    .demandCommand(1, 'name a command: render or run')
    .strict()
    // Messages in English whatever LANG says: the same words in logs, docs and tests, bundled or not.
    .detectLocale(false)
    .exitProcess(false)
    .fail(false)
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110));
  try {
    await parser.parseAsync();
    return exitCode;
  } catch (error) {
    const usage = error instanceof PilotError ? error.isUsageError : !handlerStarted;
    const message = error instanceof Error ? error.message : String(error);
    context.io.stderr(`error: ${errorLine(message, usage)}\n`);
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/**
 * The message as one line of plain text. A usage error keeps all of it (yargs and our checks quote the argument
 * as given, which may hold a newline); a failure keeps its first line, the rest being detail. Control characters
 * and line separators are escaped either way, so an argument cannot break the line or drive the terminal.
 */
export function errorLine(message: string, usage: boolean): string {
  return printable(usage ? message : (message.split('\n')[0] ?? ''));
}
