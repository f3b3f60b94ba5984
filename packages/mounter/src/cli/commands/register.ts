import { oneValue } from '@docker-cernvm/cli-kit';
import type { CommandModule } from 'yargs';
import { DEFAULT_REPOSITORY } from '../../mounter.js';
import { describePair } from '../../placeholder.js';
import { type CliContext, type GlobalArgs, mounterFor, printJson } from '../context.js';

interface RegisterArgs extends GlobalArgs {
  tag: string;
  repository: string;
  snapshot?: string;
}

export function registerCommand(context: CliContext): CommandModule<GlobalArgs, RegisterArgs> {
  return {
    command: 'register',
    describe: 'Build the placeholder image for a CernVM repository (and snapshot); prints its id',
    builder: (argv) =>
      argv
        .option('tag', {
          type: 'string',
          coerce: oneValue('tag'),
          demandOption: true,
          requiresArg: true,
          describe: 'Image NAME[:TAG]',
        })
        .option('repository', {
          alias: 'branch',
          type: 'string',
          coerce: oneValue('repository'),
          default: DEFAULT_REPOSITORY,
          requiresArg: true,
          describe: 'CernVM repository',
        })
        .option('snapshot', {
          type: 'string',
          coerce: oneValue('snapshot'),
          requiresArg: true,
          describe: 'Repository tag (snapshot) to stand for',
        }),
    handler: async (argv) => {
      const result = await mounterFor(context, argv).register({
        tag: argv.tag,
        repository: argv.repository,
        snapshot: argv.snapshot,
      });
      if (argv.json) return printJson(context.io, result);
      if (!result.created) context.io.stderr(`${result.tag} is already registered for ${describePair(result.pair)}\n`);
      context.io.stdout(`${result.imageId}\n`);
    },
  };
}
