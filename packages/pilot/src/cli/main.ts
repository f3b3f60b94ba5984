import yargs, { type CommandModule } from 'yargs';
import { PilotError } from '../errors.js';
import { renderCommand } from './commands/render.js';
import { runCommand } from './commands/run.js';
import type { CliContext } from './context.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

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
  const parser = yargs([...args])
    .scriptName('docker-cernvm-pilot')
    .usage('$0 <command> [options]\n\nOne HTCondor execute slot in a CernVM container.')
    .command(started(renderCommand(context)))
    .command(started(runCommand(context, (code) => (exitCode = code))))
    .demandCommand(1, 'name a command: render or run')
    .strict()
    .exitProcess(false)
    .fail(false)
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110));
  try {
    await parser.parseAsync();
    return exitCode;
  } catch (error) {
    if (error instanceof PilotError) {
      context.io.stderr(`error: ${error.message}\n`);
      return error.isUsageError ? EXIT_USAGE : EXIT_FAILURE;
    }
    const message = error instanceof Error ? error.message : String(error);
    context.io.stderr(`error: ${message.split('\n')[0]}\n`);
    return handlerStarted ? EXIT_FAILURE : EXIT_USAGE;
  }
}
