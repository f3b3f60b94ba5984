import type { Readable } from 'node:stream';
import Docker, { type ContainerCreateOptions } from 'dockerode';
import type { EngineKind } from '@docker-cernvm/mounter';
import { LABELS, slotOf } from './labels.js';

/** A container with this factory's labels, from one list call (no inspect). */
export interface ListedContainer {
  id: string;
  slot: number;
  templateHash: string;
  state: string;
  /** Unix ms; a running container's start is taken as its creation (they are made and started back to back). */
  createdAt: number;
}

/** What a container's inspect adds: whether it still runs, and how it ended. */
export interface ExitDetails {
  running: boolean;
  exitCode: number;
  startedAt?: number;
  finishedAt: number;
  oomKilled: boolean;
}

export interface EngineFacts {
  cpus: number;
  memoryBytes: number;
}

/** Which engine serves the slots: a CernVM root runs as a container's root only on podman (rootfs). */
export type { EngineKind };

/** Counts calls by operation, for the metrics (Docker API requests by operation). */
export type RequestCounter = (operation: string) => void;

/** Every Docker operation the factory makes; the only module of the factory that speaks dockerode. */
export interface SlotRuntime {
  engine(): Promise<EngineKind>;
  facts(): Promise<EngineFacts>;
  list(factory: string): Promise<ListedContainer[]>;
  exitDetails(id: string): Promise<ExitDetails | undefined>;
  /** Makes the container and starts it; if the start fails, the container is removed again. */
  createAndStart(options: ContainerCreateOptions): Promise<string>;
  signal(id: string, signal: string): Promise<void>;
  stop(id: string, timeoutSeconds: number): Promise<void>;
  remove(id: string): Promise<void>;
  /** The raw events stream for this factory's containers, from `since` (unix seconds, fractional) on. */
  openEvents(factory: string, since?: string): Promise<Readable>;
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

const parseTime = (text: string | undefined): number | undefined => {
  if (!text || text.startsWith('0001-')) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
};

export class DockerodeRuntime implements SlotRuntime {
  constructor(
    protected readonly docker: Docker = new Docker(),
    protected readonly count: RequestCounter = () => undefined,
  ) {}

  async engine(): Promise<EngineKind> {
    return 'docker';
  }

  async facts(): Promise<EngineFacts> {
    this.count('info');
    const info = (await this.docker.info()) as { NCPU: number; MemTotal: number };
    return { cpus: info.NCPU, memoryBytes: info.MemTotal };
  }

  async list(factory: string): Promise<ListedContainer[]> {
    this.count('container_list');
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.factory}=${factory}`] },
    });
    const listed: ListedContainer[] = [];
    for (const c of containers) {
      const slot = slotOf(c.Labels);
      if (slot === undefined) continue;
      listed.push({
        id: c.Id,
        slot,
        templateHash: c.Labels[LABELS.templateHash] ?? '',
        state: c.State,
        createdAt: c.Created * 1000,
      });
    }
    return listed;
  }

  async exitDetails(id: string): Promise<ExitDetails | undefined> {
    this.count('container_inspect');
    try {
      const { State } = await this.docker.getContainer(id).inspect();
      return {
        running: State.Running,
        exitCode: State.ExitCode,
        startedAt: parseTime(State.StartedAt),
        finishedAt: parseTime(State.FinishedAt) ?? Date.now(),
        oomKilled: State.OOMKilled,
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async createAndStart(options: ContainerCreateOptions): Promise<string> {
    this.count('container_create');
    const container = await this.docker.createContainer(options);
    await this.startOrRemove(container);
    return container.id;
  }

  /** Starts a created container; one that cannot start would hold the slot's name, so it goes again. */
  protected async startOrRemove(container: { id: string; start(): Promise<unknown> }): Promise<void> {
    try {
      this.count('container_start');
      await container.start();
    } catch (error) {
      await this.remove(container.id).catch(() => undefined);
      throw error;
    }
  }

  async signal(id: string, signal: string): Promise<void> {
    this.count('container_kill');
    try {
      await this.docker.getContainer(id).kill({ signal });
    } catch (error) {
      // Already gone or already stopped: the signal has nothing left to do.
      if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
    }
  }

  async stop(id: string, timeoutSeconds: number): Promise<void> {
    this.count('container_stop');
    try {
      await this.docker.getContainer(id).stop({ t: timeoutSeconds });
    } catch (error) {
      if (statusOf(error) !== 304 && statusOf(error) !== 404) throw error;
    }
  }

  async remove(id: string): Promise<void> {
    this.count('container_remove');
    try {
      await this.docker.getContainer(id).remove({ force: true });
    } catch (error) {
      // 404: gone already; 409: removal already in progress.
      if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
    }
  }

  async openEvents(factory: string, since?: string): Promise<Readable> {
    this.count('events');
    const stream = await this.docker.getEvents({
      filters: { type: ['container'], label: [`${LABELS.factory}=${factory}`] },
      ...(since ? { since } : {}),
    } as Parameters<Docker['getEvents']>[0]);
    return stream as Readable;
  }
}
