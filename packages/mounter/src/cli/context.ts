import { oneValue } from '@docker-cernvm/cli-kit';
import type { Argv } from 'yargs';
import type { Mounter } from '../mounter.js';
import type { Reporter } from '../reporter.js';
import type { RepositoryPaths } from '../repository.js';
import { DEFAULT_REPOSITORY_PATHS } from '../repository.js';
import { defaultEngineRoot } from '../create-mounter.js';

/** Where a command writes: data to stdout, progress and messages to stderr. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface MounterSettings {
  paths: RepositoryPaths;
  cvmfs2Command: string;
  reporter: Reporter;
  engineRoot: string;
  ctrCommand: string;
  containerdSocket: string | undefined;
}

/** Everything a command handler receives besides its arguments; tests pass fakes here. */
export interface CliContext {
  io: CliIo;
  createMounter: (settings: MounterSettings) => Mounter;
}

export interface GlobalArgs {
  json: boolean;
  'cvmfs-dir': string;
  'mount-base': string;
  'cvmfs-config-dir': string;
  'state-dir': string;
  cvmfs2: string;
  'engine-root': string;
  ctr: string;
  'containerd-socket': string | undefined;
}

export function globalOptions(argv: Argv): Argv<GlobalArgs> {
  return argv
    .option('json', { type: 'boolean', default: false, describe: 'Print results as JSON on stdout' })
    .option('cvmfs-dir', {
      type: 'string',
      coerce: oneValue('cvmfs-dir'),
      default: DEFAULT_REPOSITORY_PATHS.cvmfsDir,
      requiresArg: true,
      describe: 'Where the CernVM-FS client shows repositories',
    })
    .option('mount-base', {
      type: 'string',
      coerce: oneValue('mount-base'),
      default: DEFAULT_REPOSITORY_PATHS.mountBase,
      requiresArg: true,
      describe: 'Where repositories are mounted when the client does not show them (static_cernvm_<repo>)',
    })
    .option('cvmfs-config-dir', {
      type: 'string',
      coerce: oneValue('cvmfs-config-dir'),
      default: DEFAULT_REPOSITORY_PATHS.cvmfsConfigDir,
      requiresArg: true,
      describe: 'The CernVM-FS client configuration directory',
    })
    .option('state-dir', {
      type: 'string',
      coerce: oneValue('state-dir'),
      default: DEFAULT_REPOSITORY_PATHS.stateDir,
      requiresArg: true,
      describe: 'Where private snapshot mounts keep their configuration and cache',
    })
    .option('cvmfs2', {
      type: 'string',
      coerce: oneValue('cvmfs2'),
      default: 'cvmfs2',
      requiresArg: true,
      describe: 'The cvmfs2 binary used for private, snapshot-pinned mounts',
    })
    .option('engine-root', {
      type: 'string',
      default: defaultEngineRoot(),
      defaultDescription: '$DOCKER_CERNVM_ENGINE_ROOT or /',
      requiresArg: true,
      describe: "The engine's file system here: the directory dockerd runs chrooted in (paths it reports are under it)",
    })
    .option('ctr', {
      type: 'string',
      default: 'ctr',
      requiresArg: true,
      describe: "containerd's client, used with the containerd image store to find a placeholder's layer",
    })
    .option('containerd-socket', {
      type: 'string',
      requiresArg: true,
      describe: "containerd's socket (containerd image store), when neither the engine nor the defaults tell it",
    });
}

/** A reporter that shows each step on stderr as `label …ok`. */
export function stepReporter(io: CliIo): Reporter {
  return {
    async step(label, action) {
      io.stderr(`${label} …`);
      try {
        const result = await action();
        io.stderr('ok\n');
        return result;
      } catch (error) {
        io.stderr('failed\n');
        throw error;
      }
    },
  };
}

export function mounterFor(context: CliContext, argv: GlobalArgs): Mounter {
  return context.createMounter({
    paths: {
      cvmfsDir: argv['cvmfs-dir'],
      mountBase: argv['mount-base'],
      cvmfsConfigDir: argv['cvmfs-config-dir'],
      stateDir: argv['state-dir'],
    },
    cvmfs2Command: argv.cvmfs2,
    reporter: stepReporter(context.io),
    engineRoot: argv['engine-root'],
    ctrCommand: argv.ctr,
    containerdSocket: argv['containerd-socket'],
  });
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
