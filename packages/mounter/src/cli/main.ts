import { runProgram } from '@docker-cernvm/cli-kit';
import { type CliContext, globalOptions } from './context.js';
import { mountCommand } from './commands/mount.js';
import { pruneCommand } from './commands/prune.js';
import { registerCommand } from './commands/register.js';
import { setupRepoCommand } from './commands/setup-repo.js';
import { snapshotsCommand } from './commands/snapshots.js';
import { statusCommand } from './commands/status.js';
import { unmountAllCommand } from './commands/unmount-all.js';
import { MOUNTER_VERSION } from '../version.js';

/** Runs `docker-cernvm` with these arguments and returns the exit code; never exits the process itself. */
export function runCli(args: readonly string[], context: CliContext): Promise<number> {
  return runProgram(args, context.io.stderr, {
    name: 'docker-cernvm',
    version: MOUNTER_VERSION,
    summary: 'Run CernVM from CernVM-FS as a Docker image, without importing it.',
    commands: [
      registerCommand(context),
      mountCommand(context),
      unmountAllCommand(context),
      statusCommand(context),
      snapshotsCommand(context),
      setupRepoCommand(context),
      pruneCommand(context),
    ],
    // A flag given twice means the last one, as in docker-cernvm-factory (`--tag a --tag b` is b, not a list).
    configure: (parser) => globalOptions(parser.parserConfiguration({ 'duplicate-arguments-array': false })),
  });
}
