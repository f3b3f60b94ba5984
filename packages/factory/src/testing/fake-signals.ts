import type { FactorySignal, SignalSource } from '../cli/context.js';

/** Stands in for `process`: a test delivers signals with emit() and sees which handlers are still installed. */
export class FakeSignals implements SignalSource {
  private readonly handlers = new Map<FactorySignal, Set<() => void>>();

  on(signal: FactorySignal, handler: () => void): this {
    if (!this.handlers.has(signal)) this.handlers.set(signal, new Set());
    this.handlers.get(signal)!.add(handler);
    return this;
  }

  off(signal: FactorySignal, handler: () => void): this {
    this.handlers.get(signal)?.delete(handler);
    return this;
  }

  emit(signal: FactorySignal): void {
    for (const handler of [...(this.handlers.get(signal) ?? [])]) handler();
  }

  /** How many handlers are installed, for all signals together. */
  get listenerCount(): number {
    return [...this.handlers.values()].reduce((sum, set) => sum + set.size, 0);
  }
}
