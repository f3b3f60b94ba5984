import { oneValue } from '@docker-cernvm/cli-kit';
import type { CommandModule } from 'yargs';
import { DEFAULT_ROOT } from '../../mounter.js';
import { type CliContext, type GlobalArgs, mounterFor, printJson } from '../context.js';

interface MountArgs extends GlobalArgs {
  tag: string;
  repository?: string;
  snapshot?: string;
  root: string;
}

export function mountCommand(context: CliContext): CommandModule<GlobalArgs, MountArgs> {
  return {
    command: 'mount',
    describe: 'Bind a CernVM root from CernVM-FS over a placeholder image, registering it if needed',
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
          requiresArg: true,
          describe: "CernVM repository (default: the placeholder's own, else cernvm-prod.cern.ch)",
        })
        .option('snapshot', {
          type: 'string',
          coerce: oneValue('snapshot'),
          requiresArg: true,
          describe: 'Repository tag (snapshot) to mount',
        })
        .option('root', {
          type: 'string',
          coerce: oneValue('root'),
          default: DEFAULT_ROOT,
          requiresArg: true,
          describe: 'cvm4, cvm3, or a path inside the repository',
        }),
    handler: async (argv) => {
      const result = await mounterFor(context, argv).mount({
        tag: argv.tag,
        repository: argv.repository,
        snapshot: argv.snapshot,
        root: argv.root,
      });
      if (argv.json) return printJson(context.io, result);
      if (result.action === 'unchanged') context.io.stderr(`${result.tag} already shows ${result.rootDir}\n`);
      context.io.stdout(`CernVM snapshot in use: ${result.version ?? 'unknown (no cernvm-system marker)'}\n`);
    },
  };
}
