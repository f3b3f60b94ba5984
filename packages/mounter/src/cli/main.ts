import { printable } from '@docker-cernvm/cli-kit';
import yargs from 'yargs';
import { MounterError } from '../errors.js';
import { type CliContext, globalOptions } from './context.js';
import { mountCommand } from './commands/mount.js';
import { pruneCommand } from './commands/prune.js';
import { registerCommand } from './commands/register.js';
import { setupRepoCommand } from './commands/setup-repo.js';
import { snapshotsCommand } from './commands/snapshots.js';
import { statusCommand } from './commands/status.js';
import { unmountAllCommand } from './commands/unmount-all.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Words yargs would read into its own fields instead of an option: `-_` (alone or in a cluster such as `-x_`) and
 * `--_` replace the list of positional words and crash its parser, `--$0` the program name. Refused up front.
 */
const PARSER_FIELDS = /^(?:-[^-=]*[_$]|--(?:_|\$0)(?:[=.]|$))/;

/** Runs `docker-cernvm` with these arguments and returns the exit code; never exits the process itself. */
export async function runCli(args: readonly string[], context: CliContext): Promise<number> {
  // Anything that fails before a command's handler runs is a usage error: the arguments were wrong.
  let handlerStarted = false;
  const field = args.find((word) => PARSER_FIELDS.test(word));
  if (field !== undefined) {
    context.io.stderr(`error: ${errorLine(`Unknown argument: ${field}`, true)}\n`);
    return EXIT_USAGE;
  }
  const parser = globalOptions(yargs([...args]))
    .scriptName('docker-cernvm')
    .usage('$0 <command> [options]\n\nRun CernVM from CernVM-FS as a Docker image, without importing it.')
    .command(registerCommand(context))
    .command(mountCommand(context))
    .command(unmountAllCommand(context))
    .command(statusCommand(context))
    .command(snapshotsCommand(context))
    .command(setupRepoCommand(context))
    .command(pruneCommand(context))
    .middleware(() => {
      handlerStarted = true;
    }, false)
    .demandCommand(1, 'name a command: register, mount, unmount-all, status, snapshots, setup-repo or prune')
    .strict()
    // Messages in English whatever LANG says: the same words in logs, docs and tests, bundled or not.
    .detectLocale(false)
    // A flag given twice means the last one, as in docker-cernvm-factory (`--tag a --tag b` is b, not a list).
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
    const usage = error instanceof MounterError ? error.isUsageError : !handlerStarted;
    const message = error instanceof Error ? error.message : String(error);
    context.io.stderr(`error: ${errorLine(message, usage)}\n`);
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/**
 * The message as one line of plain text. A usage error keeps all of it (yargs quotes the argument as given, which
 * may hold a newline); a failure keeps its first line, the rest being detail. Control characters and line
 * separators are escaped either way, so an argument cannot break the line or drive the terminal.
 */
export function errorLine(message: string, usage: boolean): string {
  return printable(usage ? message : (message.split('\n')[0] ?? ''));
}
