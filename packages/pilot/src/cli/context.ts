import type { PilotEngine } from '../docker-api.js';
import type { RunnerIo, SignalSource } from '../runner.js';

/** Everything a command handler receives besides its arguments; tests pass fakes here. */
export interface CliContext {
  io: RunnerIo;
  engine: () => PilotEngine;
  signals: SignalSource;
}

export function printJson(io: RunnerIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
