/** Stands in for `process`: a test delivers signals with emit() and sees which handlers are still installed. */
export class FakeSignals {
  private readonly handlers = new Map<NodeJS.Signals, Set<() => void>>();

  on(signal: NodeJS.Signals, handler: () => void): this {
    if (!this.handlers.has(signal)) this.handlers.set(signal, new Set());
    this.handlers.get(signal)!.add(handler);
    return this;
  }

  off(signal: NodeJS.Signals, handler: () => void): this {
    this.handlers.get(signal)?.delete(handler);
    return this;
  }

  emit(signal: NodeJS.Signals): void {
    for (const handler of [...(this.handlers.get(signal) ?? [])]) handler();
  }

  /** How many handlers are installed, for all signals together. */
  get listenerCount(): number {
    return [...this.handlers.values()].reduce((sum, set) => sum + set.size, 0);
  }
}
