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

/** Runs `docker-cernvm` with these arguments and returns the exit code; never exits the process itself. */
export async function runCli(args: readonly string[], context: CliContext): Promise<number> {
  // Anything that fails before a command's handler runs is a usage error: the arguments were wrong.
  let handlerStarted = false;
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
    .exitProcess(false)
    .fail(false)
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110));
  try {
    await parser.parseAsync();
    return EXIT_OK;
  } catch (error) {
    if (error instanceof MounterError) {
      context.io.stderr(`error: ${error.message}\n`);
      return error.isUsageError ? EXIT_USAGE : EXIT_FAILURE;
    }
    const message = error instanceof Error ? error.message : String(error);
    context.io.stderr(`error: ${message.split('\n')[0]}\n`);
    return handlerStarted ? EXIT_FAILURE : EXIT_USAGE;
  }
}
