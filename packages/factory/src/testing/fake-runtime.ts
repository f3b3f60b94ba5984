import { PassThrough, type Readable } from 'node:stream';
import type { ContainerCreateOptions } from 'dockerode';
import type { Clock } from '../clock.js';
import type { EngineFacts, EngineKind, ExitDetails, ListedContainer, SlotRuntime } from '../docker-runtime.js';
import { LABELS, slotOf } from '../labels.js';

export interface FakeContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: 'created' | 'running' | 'exited';
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode: number;
  /** The kernel killed a process of the container for its memory limit (the engine's State.OOMKilled). */
  oomKilled?: boolean;
  options: ContainerCreateOptions;
}

/** An error shaped like dockerode's: the HTTP status is what the runtime branches on. */
export function engineError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode });
}

/**
 * An in-memory engine: containers by id, every call recorded in order (`create:<name>`, `remove:<id>` …), names
 * unique as in Docker (a create on a name still held fails 409), and an events stream a test writes to.
 */
export class FakeRuntime implements SlotRuntime {
  readonly containers = new Map<string, FakeContainer>();
  readonly calls: string[] = [];
  engineFacts: EngineFacts = { cpus: 2, memoryBytes: 8 * 1024 ** 3 };
  engineKind: EngineKind = 'docker';
  /** Each create takes the next error, if any, and fails with it. */
  readonly createFailures: Error[] = [];
  readonly signalFailures: Error[] = [];
  readonly listFailures: Error[] = [];
  readonly openFailures: Error[] = [];
  /** Containers the engine's list still shows running after they died (its list lags behind its events). */
  readonly laggingList = new Set<string>();
  /** The `since` of each events stream opened. */
  readonly eventsSince: Array<string | undefined> = [];
  readonly eventStreams: PassThrough[] = [];
  private nextId = 1;
  private removalsHeld: { promise: Promise<void>; release: () => void } | undefined;
  private createsHeld: { promise: Promise<void>; release: () => void } | undefined;
  private listHeld: { promise: Promise<void>; release: () => void } | undefined;

  constructor(private readonly clock: Clock) {}

  // ---- what a test does to the engine ----

  /** A container already there (made by an earlier factory run, or by hand). */
  seed(args: {
    factory?: string;
    slot: number | string;
    templateHash: string;
    state?: FakeContainer['state'];
    createdAt?: number;
  }): FakeContainer {
    const factory = args.factory ?? 'f';
    const labels = {
      [LABELS.factory]: factory,
      [LABELS.slot]: String(args.slot),
      [LABELS.templateHash]: args.templateHash,
    };
    return this.add(`${factory}-slot-${args.slot}`, labels, args.state ?? 'running', {}, args.createdAt);
  }

  /** The container exits with `code` and the engine says so on its events stream. */
  exit(id: string, code: number, oomKilled = false): void {
    const c = this.get(id);
    c.state = 'exited';
    c.exitCode = code;
    c.oomKilled = oomKilled;
    c.finishedAt = this.clock.now();
    this.emitEvent('die', c);
  }

  /** Removals wait until release() is called (a slow `docker rm`: the name stays taken meanwhile). */
  holdRemovals(): () => void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.removalsHeld = { promise, release };
    return () => {
      this.removalsHeld = undefined;
      release();
    };
  }

  /** How long each create takes on the fake clock (an engine under load), 0 for at once. */
  createLatencyMs = 0;

  /** createAndStart() calls wait until release() is called (a slow engine: creates stay in flight). */
  holdCreates(): () => void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.createsHeld = { promise, release };
    return () => {
      this.createsHeld = undefined;
      release();
    };
  }

  /** list() waits until release() is called (a pass caught half-way). */
  holdList(): () => void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.listHeld = { promise, release };
    return () => {
      this.listHeld = undefined;
      release();
    };
  }

  emitEvent(action: string, c: FakeContainer): void {
    const timeNano = BigInt(this.clock.now()) * 1_000_000n;
    const line = JSON.stringify({
      status: action,
      id: c.id,
      Type: 'container',
      Action: action,
      Actor: { ID: c.id, Attributes: { ...c.labels, name: c.name } },
      scope: 'local',
      time: Math.floor(this.clock.now() / 1000),
      timeNano: Number(timeNano),
    });
    for (const stream of this.eventStreams) if (!stream.destroyed && stream.writable) stream.write(`${line}\n`);
  }

  get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container ${id}`);
    return c;
  }

  running(): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.state === 'running');
  }

  /** The running container on each slot index, by index. */
  runningBySlot(): Map<number, FakeContainer> {
    return new Map(this.running().map((c) => [slotOf(c.labels)!, c]));
  }

  /** Recorded calls that start with `prefix` (`create:`, `signal:`, …). */
  callsOf(prefix: string): string[] {
    return this.calls.filter((call) => call.startsWith(prefix));
  }

  // ---- SlotRuntime ----

  async engine(): Promise<EngineKind> {
    this.calls.push('engine');
    return this.engineKind;
  }

  async facts(): Promise<EngineFacts> {
    this.calls.push('facts');
    return this.engineFacts;
  }

  async list(factory: string): Promise<ListedContainer[]> {
    this.calls.push('list');
    if (this.listHeld) await this.listHeld.promise;
    const failure = this.listFailures.shift();
    if (failure) throw failure;
    const listed: ListedContainer[] = [];
    for (const c of this.containers.values()) {
      const slot = slotOf(c.labels);
      if (c.labels[LABELS.factory] !== factory || slot === undefined) continue;
      listed.push({
        id: c.id,
        slot,
        templateHash: c.labels[LABELS.templateHash] ?? '',
        state: this.laggingList.has(c.id) ? 'running' : c.state,
        createdAt: c.createdAt,
      });
    }
    return listed;
  }

  async exitDetails(id: string): Promise<ExitDetails | undefined> {
    this.calls.push(`inspect:${id}`);
    const c = this.containers.get(id);
    if (!c) return undefined;
    return {
      running: c.state === 'running',
      exitCode: c.exitCode,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt ?? this.clock.now(),
      oomKilled: c.oomKilled ?? false,
    };
  }

  async createAndStart(options: ContainerCreateOptions): Promise<string> {
    const name = options.name ?? '';
    this.calls.push(`create:${name}`);
    await this.createsHeld?.promise;
    if (this.createLatencyMs)
      await new Promise<void>((resolve) => this.clock.setTimeout(() => resolve(), this.createLatencyMs));
    const failure = this.createFailures.shift();
    if (failure) throw failure;
    if ([...this.containers.values()].some((c) => c.name === name)) {
      throw engineError(409, `Conflict. The container name "/${name}" is already in use`);
    }
    const c = this.add(name, { ...options.Labels }, 'created', options);
    this.emitEvent('create', c);
    c.state = 'running';
    c.startedAt = this.clock.now();
    this.emitEvent('start', c);
    return c.id;
  }

  async signal(id: string, signal: string): Promise<void> {
    this.calls.push(`signal:${id}:${signal}`);
    const failure = this.signalFailures.shift();
    if (failure) throw failure;
  }

  async stop(id: string, timeoutSeconds: number): Promise<void> {
    this.calls.push(`stop:${id}:${timeoutSeconds}`);
    const c = this.containers.get(id);
    if (c?.state === 'running') this.exit(id, 0);
  }

  async remove(id: string): Promise<void> {
    this.calls.push(`remove:${id}`);
    if (this.removalsHeld) await this.removalsHeld.promise;
    const c = this.containers.get(id);
    if (!c) return;
    this.containers.delete(id);
    this.laggingList.delete(id);
    this.emitEvent('destroy', c);
  }

  async openEvents(_factory: string, since?: string): Promise<Readable> {
    this.calls.push('events');
    this.eventsSince.push(since);
    const failure = this.openFailures.shift();
    if (failure) throw failure;
    const stream = new PassThrough();
    this.eventStreams.push(stream);
    return stream;
  }

  private add(
    name: string,
    labels: Record<string, string>,
    state: FakeContainer['state'],
    options: ContainerCreateOptions,
    createdAt = this.clock.now(),
  ): FakeContainer {
    const id = `${(this.nextId++).toString(16).padStart(6, '0')}${'c'.repeat(58)}`;
    const c: FakeContainer = {
      id,
      name,
      labels,
      state,
      createdAt,
      ...(state === 'created' ? {} : { startedAt: createdAt }),
      ...(state === 'exited' ? { finishedAt: createdAt } : {}),
      exitCode: 0,
      options,
    };
    this.containers.set(id, c);
    return c;
  }
}
