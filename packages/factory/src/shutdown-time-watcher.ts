import { readFile } from 'node:fs/promises';
import type { Clock } from './clock.js';

/** The file's text, or undefined when there is no file (no shutdown announced). */
export type ShutdownTimeReader = () => Promise<string | undefined>;

/** Reads `file` whole each time: a writer that renames a new file into place is seen as the new content. */
export function shutdownTimeFileReader(file: string): ShutdownTimeReader {
  return async () => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
}

/** WLCG machine features' `shutdowntime`: a Unix time in whole seconds, as epoch ms; undefined when it is not one. */
export function parseShutdownTime(text: string): number | undefined {
  const match = /^\s*(\d{1,12})\s*$/.exec(text);
  return match ? Number(match[1]) * 1000 : undefined;
}

export interface ShutdownTimeWatcherOptions {
  clock: Clock;
  read: ShutdownTimeReader;
  pollMs: number;
  /** The shutdown time announced (epoch ms), or undefined once it is withdrawn. */
  onChange: (shutdownAt: number | undefined) => void;
  /** Content that is not a Unix time, or a file that cannot be read: said once per new problem, nothing changes. */
  onWarning: (message: string) => void;
}

/** Polls the host's shutdown time file and reports each change of the time it holds. */
export class ShutdownTimeWatcher {
  private current: number | undefined;
  private lastWarning: string | undefined;
  private timer: unknown;
  private stopped = false;

  constructor(private readonly options: ShutdownTimeWatcherOptions) {}

  /** The first look happens before this resolves, so a factory starts already knowing a shutdown time. */
  async start(): Promise<void> {
    await this.check();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One look at the file. */
  async check(): Promise<void> {
    let text: string | undefined;
    try {
      text = await this.options.read();
    } catch (error) {
      this.warn(`cannot read the shutdown time: ${(error as Error).message.split('\n')[0]}`);
      return;
    }
    if (this.stopped) return;
    let next: number | undefined;
    if (text !== undefined) {
      next = parseShutdownTime(text);
      if (next === undefined) {
        this.warn(`the shutdown time is not a Unix time in seconds: ${JSON.stringify(text.slice(0, 40))}`);
        return;
      }
    }
    this.lastWarning = undefined;
    if (next === this.current) return;
    this.current = next;
    this.options.onChange(next);
  }

  private warn(message: string): void {
    if (message === this.lastWarning) return;
    this.lastWarning = message;
    this.options.onWarning(message);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.options.pollMs);
  }
}
