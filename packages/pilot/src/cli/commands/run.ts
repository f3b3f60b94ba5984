import path from 'node:path';
import { oneValue } from '@docker-cernvm/cli-kit';
import type { Argv, CommandModule } from 'yargs';
import { PilotRunner } from '../../runner.js';
import type { CliContext } from '../context.js';
import { SCRATCH_TARGET } from '../../mounts.js';
import { DEFAULT_PIDS_LIMIT, MAX_PIDS_LIMIT } from '../../container-spec.js';
import { type PilotArgs, mountFlags, pilotOptionFlags, pilotOptionsFromArgs } from '../pilot-args.js';

interface RunArgs extends PilotArgs {
  image: string;
  'token-file': string;
  name?: string;
  'work-dir'?: string;
  'scratch-dir'?: string;
  cpuset?: string;
  'pids-limit': string;
  keep: boolean;
}

const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const CPUSET = /^\d{1,4}(?:-\d{1,4})?(?:,\d{1,4}(?:-\d{1,4})?)*$/;

/** The exit code of the command is the pilot's: 0 drained or idle, 99 clean by HTCondor, 78 refused, else failed. */
export function runCommand(context: CliContext, setExitCode: (code: number) => void): CommandModule<object, RunArgs> {
  return {
    command: 'run',
    describe: 'Run one pilot container in the foreground; Ctrl-C drains it',
    builder: (argv: Argv) =>
      mountFlags(pilotOptionFlags(argv))
        .option('image', {
          type: 'string',
          coerce: oneValue('image'),
          demandOption: true,
          requiresArg: true,
          describe: 'CernVM image (a mounted placeholder)',
        })
        .option('token-file', {
          type: 'string',
          coerce: oneValue('token-file'),
          demandOption: true,
          requiresArg: true,
          describe: 'Pool token on this host (mode 0600)',
        })
        .option('name', {
          type: 'string',
          coerce: oneValue('name'),
          requiresArg: true,
          describe: 'Container name (default docker-cernvm-pilot-<slot>)',
        })
        .option('work-dir', {
          type: 'string',
          coerce: oneValue('work-dir'),
          requiresArg: true,
          describe: 'Host directory for the rendered files (default /var/lib/docker-cernvm/pilot/<slot>)',
        })
        .option('scratch-dir', {
          type: 'string',
          coerce: oneValue('scratch-dir'),
          requiresArg: true,
          describe: `Host directory for scratch: <dir>/<slot> is HTCondor's EXECUTE at ${SCRATCH_TARGET}, emptied before and after (default /var/lib/docker-cernvm/scratch/pilot)`,
        })
        .option('cpuset', {
          type: 'string',
          coerce: oneValue('cpuset'),
          requiresArg: true,
          describe: 'Pin the container to these cores, e.g. 3 or 0-1',
        })
        .option('pids-limit', {
          type: 'string',
          coerce: oneValue('pids-limit'),
          default: String(DEFAULT_PIDS_LIMIT),
          requiresArg: true,
          describe: 'Most processes and threads the slot may hold at once (0: no limit)',
        })
        .option('keep', { type: 'boolean', default: false, describe: 'Keep the container after it exits' })
        .check((args) => {
          if (args.cpuset !== undefined && !CPUSET.test(args.cpuset))
            throw new Error(`--cpuset: expected cores like 3 or 0-1,4, got "${args.cpuset}"`);
          const pids = args['pids-limit'];
          if (!/^\d{1,7}$/.test(pids) || Number(pids) > MAX_PIDS_LIMIT)
            throw new Error(`--pids-limit: expected a whole number from 0 to ${MAX_PIDS_LIMIT}, got "${pids}"`);
          if (args.name !== undefined && !CONTAINER_NAME.test(args.name))
            throw new Error(`--name: expected a container name, got "${args.name}"`);
          return true;
        }) as Argv<RunArgs>,
    handler: async (argv) => {
      // A default under the file, not a flag over it: a slotName in --config must win.
      const options = await pilotOptionsFromArgs(argv, { slotName: 'pilot', executeDir: SCRATCH_TARGET });
      const memoryMb = typeof options.memoryMb === 'number' ? options.memoryMb : undefined;
      const runner = new PilotRunner(context.engine(), context.io, context.signals);
      const code = await runner.run({
        image: argv.image,
        // The container's limit is the slot's memory: the entrypoint reads it back, so both always agree.
        options: { ...options, memoryMb: 'auto' },
        hostTokenFile: path.resolve(argv['token-file']),
        workDir: path.resolve(argv['work-dir'] ?? `/var/lib/docker-cernvm/pilot/${options.slotName}`),
        scratchRoot: path.resolve(argv['scratch-dir'] ?? '/var/lib/docker-cernvm/scratch/pilot'),
        containerName: argv.name ?? `docker-cernvm-pilot-${options.slotName}`,
        memoryMb,
        cpuset: argv.cpuset,
        pidsLimit: Number(argv['pids-limit']),
        keep: argv.keep,
      });
      setExitCode(code);
    },
  };
}
