import { oneValue, textValues } from '@docker-cernvm/cli-kit';
import type { Argv, CommandModule } from 'yargs';
import { runDaemon } from '../../daemon.js';
import { type ScalarKey, SCALAR_KEYS, flagOf } from '../../load-config.js';
import type { CliContext } from '../context.js';

type StartArgs = { config?: string } & Partial<Record<string, string | boolean>>;

const DESCRIBE: Record<ScalarKey, string> = {
  name: 'Factory name: containers are <name>-slot-<i> (default docker-cernvm)',
  slots: 'How many one-core slots to keep running',
  image: 'CernVM image: a placeholder mounted with docker-cernvm, or an ordinary image (default cernvm:4)',
  slotCommand: 'pilot: run the rendered entrypoint (default); image: run the image’s own command',
  collector: 'Central manager HOST[:PORT] (default 127.0.0.1:9618)',
  trustDomain: 'Pool trust domain (default: the collector host)',
  tokenFile: 'Pool token on this host, mode 0600 (default /etc/docker-cernvm/pool.token)',
  networkMode: 'host (default) or bridge',
  networkInterface: 'Address pilots advertise on the host network',
  coresPerSlot: 'Cores per slot (default 1)',
  pin: 'Pin slot i to its own cores with a cpuset (default true; --no-pin to turn off)',
  memoryMb: 'Memory limit per slot in MB (default 2048)',
  pidsLimit: 'Most processes and threads per slot (default 4096; 0: no limit)',
  stateDir: 'Where each slot’s /pilot directory lives (default /var/lib/docker-cernvm/factory)',
  scratchDir:
    'Where each slot’s scratch (HTCondor’s EXECUTE) lives: <dir>/<name>/slot-<i> (default /var/lib/docker-cernvm/scratch)',
  resyncSeconds: 'Seconds between full resyncs, the safety net under events (default 30)',
  concurrency: 'Docker operations in flight at once (default 8)',
  onExit: 'On SIGTERM/SIGINT: leave pilots running (default) or stop them',
  stopTimeoutSeconds: 'With --on-exit stop: seconds before a pilot is killed (default 30)',
  drainDeadlineSeconds:
    'A drain without --deadline (SIGUSR1 too) vacates jobs still running after this (default: none)',
  logFormat: 'human (default) or json',
  listen: 'HOST:PORT for /metrics, /healthz and /status (default 127.0.0.1:9720), or none',
  socket: 'Control socket (default /run/docker-cernvm-factory/<name>.sock)',
  followSnapshot: 'Roll to each newer CernVM snapshot the image’s repository publishes (mounting it beside)',
  followIntervalSeconds: 'With --follow-snapshot: seconds between looks at the repository (default 300)',
  cvmfsDir: 'Where the CernVM-FS client shows repositories, for --follow-snapshot (default /cvmfs)',
  tokenCheckSeconds: 'Seconds between looks at the token file for a rotated token (default 10)',
};

/**
 * Every `--mount` value in the order given. The parser keeps only the last of a repeated flag (so a service file's
 * `--no-pin … --pin` means the last), which would drop all but one mount: they are read from the arguments.
 */
export function mountFlagsOf(args: readonly string[]): string[] {
  const mounts: string[] = [];
  let taking = false;
  for (const arg of args) {
    if (arg === '--mount') taking = true;
    else if (arg.startsWith('--mount=')) {
      mounts.push(arg.slice('--mount='.length));
      taking = true;
    } else if (taking && !arg.startsWith('-')) {
      // The words after it up to the next flag are its values too, as the parser reads an array flag
      // (`--mount /a /b` binds both, as `docker-cernvm-pilot run` does).
      mounts.push(arg);
    } else taking = false;
  }
  return mounts;
}

export function startCommand(context: CliContext, args: readonly string[] = []): CommandModule<object, StartArgs> {
  return {
    command: 'start',
    describe: 'Run the factory in the foreground: keep N one-core pilot slots running',
    builder: (argv: Argv) => {
      let result = argv
        .option('config', {
          type: 'string',
          coerce: oneValue('config'),
          requiresArg: true,
          describe: 'YAML configuration file (SIGHUP reloads it)',
        })
        .option('exit-when-drained', { type: 'boolean', describe: 'After a drain, exit 0 once the last pilot is gone' })
        .option('mount', {
          type: 'string',
          array: true,
          coerce: textValues('mount'),
          requiresArg: true,
          describe:
            'Bind a host path into every slot: SOURCE[:TARGET][:ro|rw,rslave|rprivate] (default read-only, rslave; repeatable, after the file’s mounts)',
        });
      for (const key of SCALAR_KEYS) {
        result =
          key === 'pin' || key === 'followSnapshot'
            ? result.option(flagOf(key), { type: 'boolean', describe: DESCRIBE[key] })
            : result.option(flagOf(key), {
                type: 'string',
                coerce: oneValue(flagOf(key)),
                requiresArg: true,
                describe: DESCRIBE[key],
              });
      }
      return result as Argv<StartArgs>;
    },
    handler: async (argv) => {
      const flags: Partial<Record<ScalarKey, string | boolean>> = {};
      for (const key of SCALAR_KEYS) {
        const value = argv[flagOf(key)];
        if (value !== undefined) flags[key] = value as string | boolean;
      }
      const mounts = mountFlagsOf(args.slice(0, args.indexOf('--') === -1 ? undefined : args.indexOf('--')));
      await runDaemon(context, {
        layers: { file: argv.config, env: context.env, flags, mounts },
        exitWhenDrained: argv['exit-when-drained'] === true,
      });
    },
  };
}
