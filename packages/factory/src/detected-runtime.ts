import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import {
  DockerodeRuntime,
  type EngineFacts,
  type EngineKind,
  type ExitDetails,
  type ListedContainer,
  type RequestCounter,
  type SlotRuntime,
} from './docker-runtime.js';
import { askEngineKind, engineKindOf } from '@docker-cernvm/mounter';
import { serviceRlimits } from './host-rlimits.js';
import type { SlotRlimits } from './host-rlimits.js';
import { PodmanRuntime } from './podman-runtime.js';

/** The service's limits, read once: the socket's holder does not change while the factory runs. */
function rlimitsOnce(docker: Docker): () => Promise<SlotRlimits> {
  let read: Promise<SlotRlimits> | undefined;
  return () => (read ??= serviceRlimits((docker.modem as { socketPath?: string }).socketPath));
}

export { type EngineKind, askEngineKind, engineKindOf };

/**
 * The runtime for whichever engine DOCKER_HOST leads to, asked once with the first operation (the factory's
 * first list), so a start waits on no extra round trip before it. A failed ask is asked again next time.
 */
export class DetectedRuntime implements SlotRuntime {
  private chosen: Promise<SlotRuntime> | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly count: RequestCounter = () => undefined,
    private readonly make: (kind: EngineKind) => SlotRuntime = (kind) =>
      kind === 'podman' ? new PodmanRuntime(docker, count, rlimitsOnce(docker)) : new DockerodeRuntime(docker, count),
  ) {}

  /** Which engine this is (asks it on the first call). */
  async kind(): Promise<EngineKind> {
    this.count('ping');
    return askEngineKind(this.docker);
  }

  private runtime(): Promise<SlotRuntime> {
    if (!this.chosen) {
      this.chosen = this.kind().then((kind) => this.make(kind));
      this.chosen.catch(() => (this.chosen = undefined));
    }
    return this.chosen;
  }

  async engine(): Promise<EngineKind> {
    return (await this.runtime()).engine();
  }
  async facts(): Promise<EngineFacts> {
    return (await this.runtime()).facts();
  }
  async list(factory: string): Promise<ListedContainer[]> {
    return (await this.runtime()).list(factory);
  }
  async exitDetails(id: string): Promise<ExitDetails | undefined> {
    return (await this.runtime()).exitDetails(id);
  }
  async createAndStart(options: ContainerCreateOptions): Promise<string> {
    return (await this.runtime()).createAndStart(options);
  }
  async signal(id: string, signal: string): Promise<void> {
    return (await this.runtime()).signal(id, signal);
  }
  async stop(id: string, timeoutSeconds: number): Promise<void> {
    return (await this.runtime()).stop(id, timeoutSeconds);
  }
  async remove(id: string): Promise<void> {
    return (await this.runtime()).remove(id);
  }
  async openEvents(factory: string, since?: string): Promise<Readable> {
    return (await this.runtime()).openEvents(factory, since);
  }
}
