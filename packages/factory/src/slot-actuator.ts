import { render } from '@docker-cernvm/pilot';
import type { EventEmitter } from 'eventemitter3';
import PQueue from 'p-queue';
import type { Clock } from './clock.js';
import type { SlotRuntime } from './docker-runtime.js';
import { FactoryError } from './errors.js';
import type { FactoryEvents } from './factory-events.js';
import type { Action, ObservedContainer } from './reconcile.js';
import type { SlotDirs } from './slot-dirs.js';
import type { SlotFeatureUpdater } from './slot-feature-updater.js';
import type { SlotLedger } from './slot-ledger.js';
import { type SlotTemplate, slotContainerOptions, slotPilotOptions, templateHash } from './template.js';

/** What the factory wants and saw, read when an action's turn comes (not when it was queued). */
export interface ActuatorView {
  template: SlotTemplate;
  draining: boolean;
  observed: readonly ObservedContainer[];
}

export interface SlotActuatorOptions {
  name: string;
  runtime: SlotRuntime;
  slotDirs: SlotDirs;
  clock: Clock;
  ledger: SlotLedger;
  /** Why no new slot may start now (the pool token is missing or unsafe), or undefined when one may. */
  startRefusal: () => string | undefined;
  /** Writes each slot's MJF files before its container starts. */
  features: SlotFeatureUpdater;
  events: EventEmitter<FactoryEvents>;
  /** Actions under way at once. */
  concurrency: number;
  /** Seconds a slot stopped with `scale --force` gets before SIGKILL. */
  stopTimeoutSeconds: number;
  view: () => ActuatorView;
  /** An action ended, done or failed: what it changed wants a pass. */
  onSettled: () => void;
}

/**
 * Carries out reconcile's actions through a bounded queue, each noted in the ledger from its enqueueing to its end; a
 * create that fails backs its slot off. Tells the factory's listeners what it did.
 */
export class SlotActuator {
  private readonly queue: PQueue;
  private closed = false;

  constructor(private readonly options: SlotActuatorOptions) {
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  enqueue(action: Action): void {
    if (this.closed) return; // a pass that was half-way through when close() came acts no more
    const { ledger, events, clock, onSettled } = this.options;
    ledger.begin(action);
    void this.queue
      .add(() => this.act(action))
      .catch((error: Error) => {
        if (action.kind === 'create') ledger.recordCreateFailure(action.slot, clock.now());
        events.emit('action-failed', { action, error });
      })
      .finally(() => {
        ledger.end(action);
        onSettled();
      });
  }

  /** Takes no more actions; resolves once those under way have ended. */
  close(): Promise<void> {
    this.closed = true;
    return this.queue.onIdle();
  }

  /** Stops and removes every container of the factory (SIGTERM, SIGKILL after the timeout) and empties their scratch. */
  async stopAll(stopTimeoutSeconds: number): Promise<void> {
    const { runtime, slotDirs, name } = this.options;
    const containers = await runtime.list(name);
    await Promise.all(containers.map((c) => runtime.stop(c.id, stopTimeoutSeconds).then(() => runtime.remove(c.id))));
    await Promise.all([...new Set(containers.map((c) => c.slot))].map((slot) => slotDirs.emptyScratch(slot)));
  }

  private async act(action: Action): Promise<void> {
    switch (action.kind) {
      case 'create':
        return this.create(action.slot);
      case 'drain':
        return this.drain(action);
      case 'deadline':
        return this.options.slotDirs.writeDeadline(action.slot, action.deadline);
      case 'stop':
        return this.stop(action);
      case 'remove':
        return this.remove(action);
    }
  }

  private async create(slot: number): Promise<void> {
    const { runtime, slotDirs, clock, name, events, features } = this.options;
    const { template, draining } = this.options.view();
    // Queued before a drain began: a drain means no new pilot, so the creates still waiting for their turn go.
    if (draining) return;
    const refusal = this.options.startRefusal();
    if (refusal) throw new FactoryError('E_BAD_TOKEN', `no new slot starts: ${refusal}`);
    const started = clock.now();
    const options = slotPilotOptions(template, name, slot);
    const hostPilotDir = slotDirs.dirOf(slot);
    const hostScratchDir = slotDirs.scratchOf(slot);
    const hash = templateHash(template);
    const containerOptions = slotContainerOptions({
      template,
      hash,
      factory: name,
      slot,
      hostPilotDir,
      hostScratchDir,
      hostTokenDir: slotDirs.tokenDir,
      hostFeaturesDir: slotDirs.featuresOf(slot),
      options,
    });
    // Nothing of this slot runs now (its index was free): what an earlier pilot's jobs left in its scratch goes.
    // The new pilot starts without the deadline an earlier one of this slot was given.
    await Promise.all([
      slotDirs.writePilotFiles(slot, render(options)),
      slotDirs.emptyScratch(slot),
      features.update(slot, template, started),
      slotDirs.writeDeadline(slot, undefined),
    ]);
    const id = await runtime.createAndStart(containerOptions);
    events.emit('slot-created', { slot, id, durationMs: clock.now() - started });
  }

  private async drain(action: Extract<Action, { kind: 'drain' }>): Promise<void> {
    const { runtime, ledger, events, clock, slotDirs } = this.options;
    // Before the signal: the pilot reads the deadline at the tick the signal wakes.
    if (action.deadline !== undefined) await slotDirs.writeDeadline(action.slot, action.deadline);
    ledger.sentDrain(action.id, clock.now());
    try {
      await runtime.signal(action.id, 'SIGUSR1');
    } catch (error) {
      ledger.drainFailed(action.id);
      throw error;
    }
    events.emit('slot-draining', {
      slot: action.slot,
      id: action.id,
      reason: action.reason,
      ...(action.deadline === undefined ? {} : { deadline: action.deadline }),
    });
  }

  private async stop(action: Extract<Action, { kind: 'stop' }>): Promise<void> {
    const { runtime, ledger, events, stopTimeoutSeconds } = this.options;
    ledger.sentStop(action.id);
    events.emit('slot-stopping', { slot: action.slot, id: action.id });
    try {
      await runtime.stop(action.id, stopTimeoutSeconds);
    } catch (error) {
      ledger.stopFailed(action.id);
      throw error;
    }
  }

  private async remove(action: Extract<Action, { kind: 'remove' }>): Promise<void> {
    const { runtime, slotDirs, ledger, events } = this.options;
    await runtime.remove(action.id);
    ledger.removed(action.id);
    events.emit('slot-removed', { slot: action.slot, id: action.id, reason: action.reason });
    // The slot's jobs are gone with it; a duplicate still on the index keeps the directory (it shares it).
    const shared = this.options
      .view()
      .observed.some((c) => c.slot === action.slot && c.id !== action.id && c.phase !== 'exited');
    if (!shared) await slotDirs.emptyScratch(action.slot);
  }
}
