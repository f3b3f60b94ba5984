import { oneValue } from '@docker-cernvm/cli-kit';
import type { CommandModule } from 'yargs';
import { applySetupRepo, planSetupRepo } from '../../setup-repo.js';
import { type CliContext, type GlobalArgs, printJson } from '../context.js';

interface SetupRepoArgs extends GlobalArgs {
  repository: string;
  'server-url'?: string;
  'keys-url'?: string;
  snapshot?: string;
  'dry-run': boolean;
}

export function setupRepoCommand(context: CliContext): CommandModule<GlobalArgs, SetupRepoArgs> {
  return {
    command: 'setup-repo',
    describe: 'Configure the CernVM-FS client for a CernVM repository and fetch its public key when missing',
    builder: (argv) =>
      argv
        .option('repository', {
          alias: 'branch',
          type: 'string',
          coerce: oneValue('repository'),
          demandOption: true,
          requiresArg: true,
          describe: 'CernVM repository',
        })
        .option('server-url', {
          type: 'string',
          coerce: oneValue('server-url'),
          requiresArg: true,
          describe: 'CVMFS_SERVER_URL (@fqrn@ allowed)',
        })
        .option('keys-url', {
          type: 'string',
          coerce: oneValue('keys-url'),
          requiresArg: true,
          describe: 'Where to fetch <repo>.pub (@fqrn@ allowed)',
        })
        .option('snapshot', {
          type: 'string',
          coerce: oneValue('snapshot'),
          requiresArg: true,
          describe: 'Pin the repository to this tag',
        })
        .option('dry-run', { type: 'boolean', default: false, describe: 'Show what would be written' }),
    handler: async (argv) => {
      const plan = await planSetupRepo({
        repository: argv.repository,
        serverUrl: argv['server-url'],
        keysUrl: argv['keys-url'],
        snapshot: argv.snapshot,
        configDir: argv['cvmfs-config-dir'],
      });
      if (!argv['dry-run']) await applySetupRepo(plan);
      if (argv.json) return printJson(context.io, { ...plan, dryRun: argv['dry-run'] });
      const verb = argv['dry-run'] ? 'would write' : 'wrote';
      context.io.stdout(`${verb} ${plan.configFile}:\n${plan.configText}`);
      context.io.stdout(
        plan.keyUrl ? `${verb} ${plan.keyFile} from ${plan.keyUrl}\n` : `key present: ${plan.keyFile}\n`,
      );
    },
  };
}
