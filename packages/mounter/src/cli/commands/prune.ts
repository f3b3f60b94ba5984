import type { CommandModule } from 'yargs';
import { MounterError } from '../../errors.js';
import { type CliContext, type GlobalArgs, mounterFor, printJson } from '../context.js';

export function pruneCommand(context: CliContext): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: 'prune',
    describe: 'Remove placeholder images that are neither mounted nor used by a container',
    handler: async (argv) => {
      const result = await mounterFor(context, argv).prune();
      if (argv.json) return printJson(context.io, result);
      for (const image of result.removed) context.io.stdout(`${image.imageId} ${image.tags.join(' ')}\n`);
      for (const image of result.failed)
        context.io.stderr(`could not remove ${image.tags[0] ?? image.imageId}: ${image.reason}\n`);
      context.io.stderr(`removed ${result.removed.length} placeholder(s), kept ${result.kept}\n`);
      if (result.failed.length) {
        throw new MounterError('E_COMMAND_FAILED', `${result.failed.length} placeholder(s) could not be removed`);
      }
    },
  };
}
