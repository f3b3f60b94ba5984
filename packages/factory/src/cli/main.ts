import { runProgram } from '@docker-cernvm/cli-kit';
import { drainCommand, resumeCommand, scaleCommand, statusCommand } from './commands/control.js';
import { startCommand } from './commands/start.js';
import type { CliContext } from './context.js';
import { FACTORY_VERSION } from '../version.js';

/** Runs `docker-cernvm-factory` with these arguments and returns the exit code; never exits the process itself. */
export function runCli(args: readonly string[], context: CliContext): Promise<number> {
  return runProgram(args, context.io.stderr, {
    name: 'docker-cernvm-factory',
    version: FACTORY_VERSION,
    summary: 'Keep N one-core HTCondor pilot slots running on this Docker host.',
    commands: [
      startCommand(context, args),
      scaleCommand(context),
      drainCommand(context),
      resumeCommand(context),
      statusCommand(context),
    ],
    // A flag given twice means the last one, as a service file overridden by hand expects (`--no-pin … --pin`).
    configure: (parser) => parser.parserConfiguration({ 'duplicate-arguments-array': false }),
  });
}
