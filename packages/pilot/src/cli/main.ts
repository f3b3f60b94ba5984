import { EXIT_OK, runProgram } from '@docker-cernvm/cli-kit';
import { renderCommand } from './commands/render.js';
import { runCommand } from './commands/run.js';
import type { CliContext } from './context.js';
import { PILOT_VERSION } from '../version.js';

/** Runs `docker-cernvm-pilot` with these arguments and returns the exit code; never exits the process itself. */
export async function runCli(args: readonly string[], context: CliContext): Promise<number> {
  // `run` ends with the pilot container's own exit code.
  let exitCode = EXIT_OK;
  const code = await runProgram(args, context.io.stderr, {
    name: 'docker-cernvm-pilot',
    version: PILOT_VERSION,
    summary: 'One HTCondor execute slot in a CernVM container.',
    commands: [renderCommand(context), runCommand(context, (code) => (exitCode = code))],
    // Repeated flags stay lists: --attribute, --mount and the like add up (oneValue takes the last of the others).
    configure: (parser) => parser,
  });
  return code === EXIT_OK ? exitCode : code;
}
