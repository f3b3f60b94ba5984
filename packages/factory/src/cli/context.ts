import type { Mounter } from '@docker-cernvm/mounter';
import type { MountHost } from '@docker-cernvm/pilot';
import type { Clock } from '../clock.js';
import type { SlotRuntime } from '../docker-runtime.js';
import type { FollowMounter, RootFollowMounter } from '../snapshot-follower.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal: progress and human logs then. */
  isTerminal: boolean;
}

/** What the factory asks of docker-cernvm's library: the slot image before a start, snapshots to follow. */
export type FactoryMounter = FollowMounter & RootFollowMounter & Pick<Mounter, 'describeImage'>;

export type FactorySignal = 'SIGINT' | 'SIGTERM' | 'SIGUSR1' | 'SIGHUP';

export interface SignalSource {
  on(signal: FactorySignal, handler: () => void): unknown;
  off(signal: FactorySignal, handler: () => void): unknown;
}

/** Everything a command handler receives besides its arguments; tests pass fakes here. */
export interface CliContext {
  io: CliIo;
  env: Readonly<Record<string, string | undefined>>;
  /** The engine adapter; `count` is told the operation of every Docker API request (for the metrics). */
  runtime: (count?: (operation: string) => void) => SlotRuntime;
  /** docker-cernvm's library, looking for repositories under `cvmfsDir` (for --follow-snapshot). */
  mounter: (paths: { cvmfsDir: string }) => FactoryMounter;
  /** What the host says about mount sources (exists, symlinks, propagation). */
  mountHost: () => MountHost;
  clock: Clock;
  signals: SignalSource;
  /** Leaves at once (a second stop signal); never returns. */
  exitNow: (code: number) => void;
}
