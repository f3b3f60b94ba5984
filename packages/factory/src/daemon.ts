import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { CliContext, FactorySignal } from './cli/context.js';
import type { FactoryConfig } from './config.js';
import type { ControlRequest } from './control-protocol.js';
import { DEFAULT_BLACKHOLE, DEFAULT_UNHEALTHY_DRAIN_SECONDS, Factory } from './factory.js';
import { wireLogs } from './factory-logs.js';
import type { HealthState } from './http-server.js';
import { versionNumber } from './image-check.js';
import { openListeners } from './listeners.js';
import { type ConfigLayers, loadFactoryConfig } from './load-config.js';
import { type Logger, createLogger } from './logger.js';
import { FactoryMetrics } from './metrics.js';
import { checkPinning, engineFactsOnce, preflight } from './preflight.js';
import { HostSlotDirs } from './slot-dirs.js';
import { scratchUsage } from './scratch-usage.js';
import { RootFollower, SnapshotFollower } from './snapshot-follower.js';
import { socketPathOf } from './socket-path.js';
import { TimeFollowers } from './time-followers.js';
import { ExitTally } from './exit-tally.js';
import { statusReport, tokenStatus } from './status-report.js';
import { slotPilotOptions, templateHash, templateOf } from './template.js';
import { HostTokenFiles } from './host-token-files.js';
import { TokenKeeper } from './token-keeper.js';
import { FACTORY_VERSION } from './version.js';

export interface DaemonOptions {
  layers: ConfigLayers;
  /** End with exit code 0 once a drain has let the last pilot go. */
  exitWhenDrained: boolean;
}

/** Keys a reload cannot change in a running factory: they name where it lives. */
const RESTART_KEYS = [
  'name',
  'stateDir',
  'scratchDir',
  'socket',
  'listen',
  'concurrency',
  'logFormat',
  'followSnapshot',
  'followIntervalSeconds',
  'cvmfsDir',
] as const;

/**
 * The factory as a foreground service: the reconciler, its control socket, its HTTP endpoints, and the signals
 * (TERM/INT stop, USR1 drain, HUP reload). Resolves when it has stopped.
 */
export async function runDaemon(context: CliContext, options: DaemonOptions): Promise<void> {
  const { io, clock, signals } = context;
  // The configuration first: bad input is refused before the engine is even asked.
  let config = await loadFactoryConfig(options.layers);
  const logger: Logger = createLogger(config.logFormat, io.stderr);
  const metrics = new FactoryMetrics(() => clock.now());
  const runtime = context.runtime(metrics.countRequest);
  const mounter = context.mounter({ cvmfsDir: config.cvmfsDir });
  const host = context.mountHost();
  // The first pass's list of this factory's containers is asked for while the configuration is checked: it only
  // reads, so a refused start still changes nothing, and the first create leaves a round trip sooner.
  const firstList = runtime.list(config.name);
  firstList.catch(() => undefined); // a refused start never reads it
  const engineFacts = engineFactsOnce(runtime);
  const engineKind = () => runtime.engine();
  const { template, indexLimit } = await preflight(config, engineFacts, mounter, host, engineKind);

  // Schedules and the host's shutdown time: a window's start and the shutdown time are the drains' deadlines.
  const time = new TimeFollowers({
    config,
    env: options.layers.env,
    clock,
    logger,
    target: {
      setSlots: (count, deadline) => factory.setSlots(count, false, deadline),
      setDraining: (draining, deadline) => factory.setDraining(draining, deadline),
    },
  });
  const slotDirs = new HostSlotDirs(path.join(config.stateDir, config.name), path.join(config.scratchDir, config.name));
  // The slots see the token through a copy in a directory of its own, which a rotated token replaces.
  const tokenKeeper = new TokenKeeper({
    source: () => config.tokenFile,
    files: new HostTokenFiles(slotDirs.tokenDir, path.basename(slotPilotOptions(template, config.name, 0).tokenFile)),
    clock,
    intervalMs: config.tokenCheckSeconds * 1000,
  });
  tokenKeeper.events.on('rotated', () => logger.log('info', 'token-rotated', { file: config.tokenFile }));
  tokenKeeper.events.on('refused', (problem) =>
    logger.log('error', 'token-refused', { problem, effect: 'no new slot starts; running slots keep their token' }),
  );
  tokenKeeper.events.on('recovered', () => logger.log('info', 'token-usable', { file: config.tokenFile }));

  const factory: Factory = new Factory({
    name: config.name,
    runtime,
    slotDirs,
    clock,
    slots: time.initialSlots(),
    template,
    indexLimit,
    concurrency: config.concurrency,
    resyncMs: config.resyncSeconds * 1000,
    stopTimeoutSeconds: config.stopTimeoutSeconds,
    // The host's shutdown time, while one is announced, is every slot's machine feature `shutdowntime`.
    machineFeatures: () => {
      const shutdownAt = time.shutdownAt();
      return {
        totalCpu: availableParallelism(),
        ...config.machineFeatures,
        ...(shutdownAt === undefined ? {} : { shutdowntime: Math.round(shutdownAt / 1000) }),
      };
    },
    // The slot's drain deadline (Unix seconds), as the last pass observed it; MJF writes it per slot.
    slotDeadline: (slot) => {
      const deadline = factory.slotDeadline(slot);
      return deadline === undefined ? undefined : Math.round(deadline / 1000);
    },
    startRefusal: () => tokenKeeper.state().problem,
    unhealthyDrainSeconds: config.unhealthyDrainSeconds ?? DEFAULT_UNHEALTHY_DRAIN_SECONDS,
    blackhole: {
      jobs: config.blackholeJobs ?? DEFAULT_BLACKHOLE.jobs,
      seconds: config.blackholeSeconds ?? DEFAULT_BLACKHOLE.seconds,
    },
  });
  wireLogs(factory, logger, io, config.logFormat);
  metrics.observe(factory);
  const exits = new ExitTally(factory.events, () => clock.now());
  metrics.observeToken(tokenKeeper);
  metrics.measureScratch(() => scratchUsage(slotDirs.scratchRoot));

  // What the configuration names to run from. With followSnapshot, a reload that leaves it as it was keeps the
  // snapshot followed since: reading the file's older one would roll every slot back.
  const rootChoiceOf = (c: FactoryConfig) => JSON.stringify([c.image, c.cernvm]);
  let loadedRootChoice = rootChoiceOf(config);

  const reload = async (): Promise<unknown> => {
    const next = await loadFactoryConfig(options.layers);
    for (const key of RESTART_KEYS) {
      if (next[key] !== config[key])
        logger.log('warn', 'reload-ignored', { key, reason: 'takes effect at the next start' });
    }
    const rootChoiceChanged = rootChoiceOf(next) !== loadedRootChoice;
    const followed = config.followSnapshot && !rootChoiceChanged ? { image: config.image, cernvm: config.cernvm } : {};
    const kept = {
      ...next,
      ...Object.fromEntries(RESTART_KEYS.map((k) => [k, config[k]])),
      ...followed,
    } as FactoryConfig;
    const prepared = await preflight(kept, engineFacts, mounter, host, engineKind);
    config = kept;
    if (rootChoiceChanged) {
      loadedRootChoice = rootChoiceOf(next);
      if (kept.cernvm) rootFollower?.rebase(kept.cernvm);
      snapshotFollower?.rebase(kept.image);
    }
    await tokenKeeper.look(); // another tokenFile: the slots' copy follows it before a slot of the new template starts
    factory.setTemplate(prepared.template, prepared.indexLimit);
    factory.setSlots(next.slots);
    time.reloaded(next);
    logger.log('info', 'factory-reloaded', { slots: next.slots, template: templateHash(prepared.template) });
    return statusOf();
  };

  const statusOf = () => ({
    ...statusReport(factory, config.name),
    token: tokenStatus(tokenKeeper.state()),
    exits: exits.status(),
  });

  const health = (): HealthState => {
    const staleAfter = 2 * config.resyncSeconds * 1000 + 5_000;
    if (!factory.eventsConnected) return { healthy: false, reason: 'the Docker events stream is not connected' };
    if (clock.now() - factory.lastReconcileTime > staleAfter)
      return { healthy: false, reason: 'no reconcile pass recently' };
    return { healthy: true, reason: 'ok' };
  };

  /** Unix ms `seconds` from now; without them, the configured default for a drain, else none. */
  const deadlineIn = (seconds: number | undefined, fallback?: number): number | undefined => {
    const after = seconds ?? fallback;
    return after === undefined ? undefined : clock.now() + after * 1000;
  };

  const handle = async (request: ControlRequest): Promise<unknown> => {
    logger.log('info', 'control-request', {
      command: request.command,
      ...(request.command === 'scale' ? { slots: request.slots } : {}),
      ...((request.command === 'scale' || request.command === 'drain') && request.deadlineSeconds !== undefined
        ? { deadlineSeconds: request.deadlineSeconds }
        : {}),
    });
    switch (request.command) {
      case 'status':
        await factory.refreshHeartbeats();
        return statusOf();
      case 'drain':
        factory.setDraining(true, deadlineIn(request.deadlineSeconds, config.drainDeadlineSeconds));
        time.drainedByHand();
        return statusOf();
      case 'resume':
        factory.setDraining(false);
        time.resumedByHand();
        return statusOf();
      case 'scale':
        if (config.pin) checkPinning(request.slots, config.coresPerSlot, await engineFacts());
        factory.setSlots(request.slots, request.force === true, deadlineIn(request.deadlineSeconds));
        time.scaledByHand();
        return statusOf();
      case 'reload':
        return reload();
    }
  };

  // --follow-snapshot: a newer snapshot in the image's repository becomes the template, by the rolling rule.
  const followFailed = (error: Error) =>
    logger.log('warn', 'snapshot-follow-failed', { error: error.message.split('\n')[0] });
  // On podman with cernvm:, the newer snapshot's root directory.
  const rootFollower =
    config.followSnapshot && config.cernvm
      ? new RootFollower(
          mounter,
          clock,
          config.followIntervalSeconds * 1000,
          config.cernvm,
          async (followed) => {
            const next = templateOf(
              { ...config, cernvm: followed.cernvm },
              versionNumber(followed.version),
              followed.rootDir,
            );
            config = { ...config, cernvm: followed.cernvm };
            factory.setTemplate(next);
            logger.log('info', 'snapshot-followed', {
              root: followed.rootDir,
              snapshot: followed.cernvm.snapshot,
              template: templateHash(next),
            });
          },
          followFailed,
        )
      : undefined;
  const snapshotFollower =
    !rootFollower && config.followSnapshot
      ? new SnapshotFollower(
          mounter,
          clock,
          config.followIntervalSeconds * 1000,
          config.image,
          async (followed) => {
            const next = templateOf({ ...config, image: followed.image }, versionNumber(followed.version));
            config = { ...config, image: followed.image };
            factory.setTemplate(next);
            logger.log('info', 'snapshot-followed', {
              image: followed.image,
              snapshot: followed.snapshot,
              template: templateHash(next),
            });
          },
          followFailed,
        )
      : undefined;
  const follower = rootFollower ?? snapshotFollower;

  const observers = { metrics, health, status: statusOf, refresh: () => factory.refreshHeartbeats() };
  const { control, http } = await openListeners(
    socketPathOf(config.name, config.socket),
    handle,
    config.listen,
    observers,
  );
  logger.log('info', 'factory-starting', {
    name: config.name,
    version: FACTORY_VERSION,
    slots: config.slots,
    image: config.image,
    cernvm: template.cernvmVersion,
    ...(template.rootfs ? { root: template.rootfs } : {}),
    pin: config.pin,
    socket: control.socketPath,
    http: http ? `${http.address.address}:${http.address.port}` : 'none',
    scratch: path.join(config.scratchDir, config.name),
    // Where each mount shows in the slots; sources and the job environment stay out of the logs.
    ...(template.mounts.length
      ? { mounts: template.mounts.map((m) => `${m.target}:${m.readOnly ? 'ro' : 'rw'}`).join(',') }
      : {}),
  });

  const handlers: [FactorySignal, () => void][] = [];
  const detach = () => {
    for (const [s, h] of handlers) signals.off(s, h);
  };
  const done = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (why: string, mode: 'leave' | 'stop') => {
      if (stopping) {
        logger.log('warn', 'factory-exit-now', { signal: why });
        context.exitNow(130);
        return;
      }
      stopping = true;
      logger.log('info', 'factory-stopping', {
        why,
        pilots: mode === 'stop' ? 'stopping' : 'left running for the next start to adopt',
      });
      follower?.stop();
      time.stop();
      tokenKeeper.close();
      void factory.close(mode, config.stopTimeoutSeconds).then(async () => {
        detach();
        await Promise.all([control.close(), http?.close()]);
        resolve();
      });
    };
    handlers.push(
      ['SIGTERM', () => stop('SIGTERM', config.onExit)],
      ['SIGINT', () => stop('SIGINT', config.onExit)],
      [
        'SIGUSR1',
        () => {
          const deadline = deadlineIn(undefined, config.drainDeadlineSeconds);
          logger.log('info', 'factory-draining', {
            signal: 'SIGUSR1',
            ...(deadline === undefined ? {} : { deadline: new Date(deadline).toISOString() }),
          });
          factory.setDraining(true, deadline);
          time.drainedByHand();
        },
      ],
      [
        'SIGHUP',
        () =>
          void reload().catch((error: Error) =>
            logger.log('error', 'reload-refused', { error: error.message.split('\n')[0] }),
          ),
      ],
    );
    for (const [s, h] of handlers) signals.on(s, h);
    if (options.exitWhenDrained) factory.events.on('drained', () => stop('drained', 'leave'));
  });
  try {
    await tokenKeeper.start(); // the first slot already finds its copy of the token
    await factory.start(firstList);
    follower?.start();
    await time.start();
  } catch (error) {
    // The error is reported and the process must end: nothing (events stream, timers, handlers) may keep it up.
    detach();
    time.stop();
    tokenKeeper.close();
    await factory.close('leave');
    await Promise.all([control.close(), http?.close()]);
    throw error;
  }
  await done;
  logger.log('info', 'factory-stopped', {});
}
