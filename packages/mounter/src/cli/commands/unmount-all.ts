import { oneValue } from '@docker-cernvm/cli-kit';
import type { CommandModule } from 'yargs';
import { type CliContext, type GlobalArgs, mounterFor, printJson } from '../context.js';

interface UnmountArgs extends GlobalArgs {
  repository?: string;
  tag?: string;
}

export function unmountAllCommand(context: CliContext): CommandModule<GlobalArgs, UnmountArgs> {
  return {
    command: 'unmount-all',
    aliases: ['umount-all'],
    describe: 'Unbind every placeholder, then the repository mounts; refuses while containers use them',
    builder: (argv) =>
      argv
        .option('repository', {
          alias: 'branch',
          type: 'string',
          coerce: oneValue('repository'),
          requiresArg: true,
          describe: 'Only this CernVM repository',
        })
        .option('tag', {
          type: 'string',
          coerce: oneValue('tag'),
          requiresArg: true,
          describe: 'Only this image (an old snapshot after a roll); repository mounts stay',
        }),
    handler: async (argv) => {
      const mounter = mounterFor(context, argv);
      const only = { repository: argv.repository };
      const result =
        argv.tag === undefined ? await mounter.unmountAll(only) : await mounter.unmountImage(argv.tag, only);
      if (argv.json) return printJson(context.io, result);
      if (result.unboundLayers.length + result.unmountedRepositories.length === 0) {
        context.io.stderr('nothing of docker-cernvm is mounted\n');
      }
    },
  };
}
