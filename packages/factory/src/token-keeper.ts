import { EventEmitter } from 'eventemitter3';
import type { Clock } from './clock.js';

/** What the keeper asks of the host; the file system in production, a fake in tests. */
export interface TokenFiles {
  /** Changes whenever the file is replaced, rewritten, chmodded or chowned; undefined when it is missing. */
  fingerprint(file: string): string | undefined;
  /** Rejects a token HTCondor would refuse (missing, empty, readable by others, not root's), saying why. */
  check(file: string): Promise<void>;
  /** Copies the token into the slots' token directory, replacing the copy there atomically; true when it changed. */
  install(file: string): boolean;
}

export interface TokenState {
  /** False while the host's token is missing or unsafe: no new slot starts, running slots keep the last good copy. */
  usable: boolean;
  /** Why it is not usable, in words an admin can act on. */
  problem?: string;
  /** Unix ms the slots last got a new token from the host file. */
  installedAt?: number;
  rotations: number;
}

export interface TokenKeeperEvents {
  /** A changed token file was checked and copied to the slots. */
  rotated: [];
  /** The token file became unusable (said once per distinct problem). */
  refused: [problem: string];
  /** The token file is usable again after a problem. */
  recovered: [];
}

export interface TokenKeeperOptions {
  /** The host's token file now (a reload may name another). */
  source: () => string;
  files: TokenFiles;
  clock: Clock;
  intervalMs: number;
}

/**
 * Follows the pool token on the host: when the file changes (a new token at the same path, replaced by a rename or
 * rewritten) it is checked and copied into the directory bound read-only into every slot, where HTCondor finds it at
 * its next authentication. A bind of the file itself would keep showing the replaced file's old inode. A token that
 * goes missing or unsafe is reported and never copied: the slots keep the last good one.
 */
export class TokenKeeper {
  readonly events = new EventEmitter<TokenKeeperEvents>();
  private current: TokenState = { usable: true, rotations: 0 };
  private seen: string | undefined;
  private timer: unknown;
  private closed = false;
  private running: Promise<void> | undefined;

  constructor(private readonly options: TokenKeeperOptions) {}

  state(): TokenState {
    return this.current;
  }

  /** Installs the token the factory starts with (already checked by the preflight), then looks every interval. */
  async start(): Promise<void> {
    await this.look();
    this.schedule();
  }

  /** One look at the file; a look already under way is joined, not doubled. */
  look(): Promise<void> {
    this.running ??= this.lookOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.options.clock.setTimeout(() => {
      void this.look().finally(() => this.schedule());
    }, this.options.intervalMs);
  }

  private async lookOnce(): Promise<void> {
    const { files, clock } = this.options;
    const file = this.options.source();
    const fingerprint = `${file}\0${files.fingerprint(file) ?? 'missing'}`;
    if (fingerprint === this.seen) return;
    this.seen = fingerprint;
    let changed: boolean;
    try {
      await files.check(file);
      changed = files.install(file);
    } catch (error) {
      const problem = (error as Error).message.split('\n')[0] ?? 'unusable';
      const said = this.current.problem === problem;
      this.current = { ...this.current, usable: false, problem };
      if (!said) this.events.emit('refused', problem);
      return;
    }
    const first = this.current.installedAt === undefined;
    const recovering = !this.current.usable;
    const rotated = changed && !first;
    this.current = {
      usable: true,
      installedAt: changed || first ? clock.now() : this.current.installedAt,
      rotations: this.current.rotations + (rotated ? 1 : 0),
    };
    if (recovering) this.events.emit('recovered');
    if (rotated) this.events.emit('rotated');
  }
}
