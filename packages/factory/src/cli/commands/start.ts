import path from 'node:path';
import { checkHostToken } from '@docker-cernvm/pilot';
import type { Argv, CommandModule } from 'yargs';
import { FactoryError } from '../../errors.js';
import { Factory } from '../../factory.js';
import { checkSlotImage } from '../../image-check.js';
import { type ScalarKey, SCALAR_KEYS, flagOf, loadFactoryConfig } from '../../load-config.js';
import { createLogger, shortId } from '../../logger.js';
import { SlotDirs } from '../../slot-dirs.js';
import { slotPilotOptions, templateOf } from '../../template.js';
import type { CliContext, FactorySignal } from '../context.js';

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
  stateDir: 'Where each slot’s /pilot directory lives (default /var/lib/docker-cernvm/factory)',
  resyncSeconds: 'Seconds between full resyncs, the safety net under events (default 30)',
  concurrency: 'Docker operations in flight at once (default 8)',
  onExit: 'On SIGTERM/SIGINT: leave pilots running (default) or stop them',
  stopTimeoutSeconds: 'With --on-exit stop: seconds before a pilot is killed (default 30)',
  logFormat: 'human (default) or json',
};

export function startCommand(context: CliContext): CommandModule<object, StartArgs> {
  return {
    command: 'start',
    describe: 'Run the factory in the foreground: keep N one-core pilot slots running',
    builder: (argv: Argv) => {
      let result = argv.option('config', { type: 'string', requiresArg: true, describe: 'YAML configuration file' });
      for (const key of SCALAR_KEYS) {
        result =
          key === 'pin'
            ? result.option(flagOf(key), { type: 'boolean', describe: DESCRIBE[key] })
            : result.option(flagOf(key), { type: 'string', requiresArg: true, describe: DESCRIBE[key] });
      }
      return result as Argv<StartArgs>;
    },
    handler: async (argv) => {
      const flags: Partial<Record<ScalarKey, string | boolean>> = {};
      for (const key of SCALAR_KEYS) {
        const value = argv[flagOf(key)];
        if (value !== undefined) flags[key] = value as string | boolean;
      }
      const config = await loadFactoryConfig({ file: argv.config, env: context.env, flags });
      await runFactory(context, config);
    },
  };
}

async function runFactory(context: CliContext, config: Awaited<ReturnType<typeof loadFactoryConfig>>): Promise<void> {
  const { io, clock, signals } = context;
  const logger = createLogger(config.logFormat, io.stderr);
  const runtime = context.runtime();
  const facts = await runtime.facts();
  const pinnedCores = config.slots * config.coresPerSlot;
  if (config.pin && pinnedCores > facts.cpus) {
    throw new FactoryError(
      'E_PIN_OVERCOMMIT',
      `${config.slots} slots × ${config.coresPerSlot} core(s) need ${pinnedCores} pinned cores, but this host has ${facts.cpus}: run fewer slots or pass --no-pin`,
    );
  }
  await checkHostToken(config.tokenFile);
  const image = await checkSlotImage(config.image, context.mounter(), (ref) => runtime.imageExists(ref));
  const template = templateOf(config, image.cernvmVersion);
  slotPilotOptions(template, config.name, 0); // every slot's pilot options are valid before anything is made

  const factory = new Factory({
    name: config.name,
    runtime,
    slotDirs: new SlotDirs(path.join(config.stateDir, config.name)),
    clock,
    slots: config.slots,
    template,
    indexLimit: config.pin ? Math.floor(facts.cpus / config.coresPerSlot) : Number.POSITIVE_INFINITY,
    concurrency: config.concurrency,
    resyncMs: config.resyncSeconds * 1000,
  });
  wireLogs(factory, logger, io, config.logFormat);
  logger.log('info', 'factory-starting', {
    name: config.name,
    slots: config.slots,
    image: config.image,
    cernvm: image.cernvmVersion,
    pin: config.pin,
  });

  const handlers: [FactorySignal, () => void][] = [];
  const done = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: FactorySignal) => () => {
      if (stopping) {
        logger.log('warn', 'factory-exit-now', { signal });
        context.exitNow(130);
        return;
      }
      stopping = true;
      logger.log('info', 'factory-stopping', {
        signal,
        pilots: config.onExit === 'stop' ? 'stopping' : 'left running for the next start to adopt',
      });
      void factory.close(config.onExit, config.stopTimeoutSeconds).then(() => {
        for (const [s, h] of handlers) signals.off(s, h);
        resolve();
      });
    };
    handlers.push(
      ['SIGTERM', stop('SIGTERM')],
      ['SIGINT', stop('SIGINT')],
      [
        'SIGUSR1',
        () => {
          logger.log('info', 'factory-draining', { signal: 'SIGUSR1' });
          factory.setDraining(true);
        },
      ],
    );
    for (const [s, h] of handlers) signals.on(s, h);
  });
  try {
    await factory.start();
  } catch (error) {
    // The error is reported and the process must end: nothing (events stream, timers, handlers) may keep it up.
    for (const [s, h] of handlers) signals.off(s, h);
    await factory.close('leave');
    throw error;
  }
  await done;
  logger.log('info', 'factory-stopped', {});
}

function wireLogs(factory: Factory, logger: ReturnType<typeof createLogger>, io: CliContext['io'], format: string): void {
  let filling = true;
  let lastRunning = -1;
  factory.events.on('reconciled', ({ summary }) => {
    if (filling && summary.running !== lastRunning) {
      lastRunning = summary.running;
      if (io.isTerminal && format === 'human') io.stderr(`slots ${summary.running}/${summary.desired} running\n`);
      else logger.log('info', 'progress', { running: summary.running, desired: summary.desired });
    }
    if (summary.running >= summary.desired) filling = false;
  });
  factory.events.on('slot-created', ({ slot, id, durationMs }) =>
    logger.log('info', 'slot-started', { slot, id: shortId(id), ms: durationMs }),
  );
  factory.events.on('slot-draining', ({ slot, id, reason }) => logger.log('info', 'slot-draining', { slot, id: shortId(id), reason }));
  factory.events.on('slot-exited', ({ slot, id, exitCode, reason, retryInMs }) =>
    logger.log(reason === 'failed' ? 'warn' : 'info', 'slot-exited', {
      slot,
      id: shortId(id),
      code: exitCode,
      reason,
      retry_in_s: retryInMs === undefined ? undefined : Math.round(retryInMs / 100) / 10,
    }),
  );
  factory.events.on('slot-removed', ({ slot, id, reason }) => logger.log('debug', 'slot-removed', { slot, id: shortId(id), reason }));
  factory.events.on('action-failed', ({ action, error }) =>
    logger.log('error', 'action-failed', { action: action.kind, slot: action.slot, error: error.message.split('\n')[0] }),
  );
  factory.events.on('events-disconnected', (reason) => logger.log('warn', 'events-disconnected', { reason }));
  factory.events.on('events-connected', () => logger.log('debug', 'events-connected', {}));
  factory.events.on('drained', () => logger.log('info', 'factory-drained', {}));
  factory.events.on('error', (error) => logger.log('error', 'reconcile-failed', { error: error.message.split('\n')[0] }));
}
