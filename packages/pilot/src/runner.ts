import { checkHostToken } from './token-check.js';
import type { PilotEngine } from './docker-api.js';
import { PilotError } from './errors.js';
import { type MountHost, SystemMountHost, checkMountSources } from './host-mounts.js';
import { emptyScratchDir } from './scratch-dir.js';
import type { PilotOptions } from './options.js';
import { writePilotDir } from './pilot-dir.js';
import { render } from './render.js';

export interface RunRequest {
  image: string;
  options: PilotOptions;
  hostTokenFile: string;
  /** The host directory the slot's files are rendered into and mounted from. */
  workDir: string;
  /**
   * Host directory holding slots' scratch directories: this pilot's is `<scratchRoot>/<slotName>`, mounted at
   * options.executeDir, emptied before the container starts and after it is removed.
   */
  scratchRoot?: string;
  containerName: string;
  memoryMb?: number;
  cpuset?: string;
  /** The container's process limit (PidsLimit); unset: no limit. */
  pidsLimit?: number;
  /** Keep the exited container for inspection instead of removing it. */
  keep: boolean;
  /** Extra container labels (never secrets). */
  labels?: Readonly<Record<string, string>>;
}

export interface RunnerIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Where Ctrl-C and a service manager's stop reach the runner; `process` in production, a fake in tests. */
export interface SignalSource {
  on(signal: 'SIGINT' | 'SIGTERM', handler: () => void): unknown;
  off(signal: 'SIGINT' | 'SIGTERM', handler: () => void): unknown;
}

/** Ctrl-C escalates: the first drains, the second stops gracefully, the third stops at once. */
const INTERRUPT_STEPS = [
  { signal: 'SIGUSR1', say: 'draining: the running job finishes first (Ctrl-C again: graceful stop)' },
  { signal: 'SIGTERM', say: 'stopping gracefully (Ctrl-C again: fast stop)' },
  { signal: 'SIGQUIT', say: 'stopping now' },
] as const;

/** Runs one pilot container in the foreground: its output is shown, and its exit code is returned. */
export class PilotRunner {
  constructor(
    private readonly engine: PilotEngine,
    private readonly io: RunnerIo,
    private readonly signals: SignalSource,
    private readonly host: MountHost = new SystemMountHost(),
  ) {}

  async run(request: RunRequest): Promise<number> {
    await checkHostToken(request.hostTokenFile);
    await checkMountSources(this.host, {
      mounts: request.options.mounts,
      protectedPaths: [request.hostTokenFile, request.workDir, ...(request.scratchRoot ? [request.scratchRoot] : [])],
    });
    if (!(await this.engine.imageExists(request.image))) {
      throw new PilotError(
        'E_NO_IMAGE',
        `no image ${request.image}: mount a CernVM root as it first (docker-cernvm mount --tag ${request.image})`,
      );
    }
    if (await this.engine.containerExists(request.containerName)) {
      throw new PilotError(
        'E_RUN_FAILED',
        `a container named ${request.containerName} exists already: remove it or pass --name`,
      );
    }
    writePilotDir(request.workDir, render(request.options));
    const scratch = request.scratchRoot
      ? await emptyScratchDir(request.scratchRoot, request.options.slotName)
      : undefined;
    const id = await this.engine.create({
      name: request.containerName,
      image: request.image,
      hostPilotDir: request.workDir,
      ...(scratch ? { hostScratchDir: scratch } : {}),
      hostTokenFile: request.hostTokenFile,
      options: request.options,
      memoryMb: request.memoryMb,
      cpuset: request.cpuset,
      ...(request.pidsLimit ? { pidsLimit: request.pidsLimit } : {}),
      labels: { ...request.labels, 'org.docker-cernvm.pilot': request.options.slotName },
    });
    let interrupts = 0;
    const send = (signal: string) => this.engine.signal(id, signal).catch(() => undefined);
    const onInterrupt = () => {
      const step = INTERRUPT_STEPS[Math.min(interrupts++, INTERRUPT_STEPS.length - 1)]!;
      this.io.stderr(`\n${step.say}\n`);
      void send(step.signal);
    };
    const onTerminate = () => void send('SIGTERM');
    this.signals.on('SIGINT', onInterrupt);
    this.signals.on('SIGTERM', onTerminate);
    try {
      await this.engine.start(id);
      this.io.stderr(`pilot ${request.options.slotName} running in ${request.containerName} (Ctrl-C drains it)\n`);
      const logs = this.engine.followLogs(id, this.io.stdout, this.io.stderr);
      const code = await this.engine.wait(id);
      await logs;
      this.io.stderr(`pilot ${request.options.slotName} exited with code ${code}\n`);
      return code;
    } finally {
      this.signals.off('SIGINT', onInterrupt);
      this.signals.off('SIGTERM', onTerminate);
      if (!request.keep) {
        await this.engine.remove(id).catch(() => undefined);
        // What the jobs left goes with the container; kept containers keep their scratch for inspection.
        if (request.scratchRoot) await emptyScratchDir(request.scratchRoot, request.options.slotName);
      }
    }
  }
}
