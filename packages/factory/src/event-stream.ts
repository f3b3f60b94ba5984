import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import type { Clock } from './clock.js';
import { slotOf } from './labels.js';

/** One container event of this factory's, as the reconciler needs it. */
export interface EngineEvent {
  id: string;
  action: string;
  slot?: number;
  timeNano: number;
}

export interface EventStreamEvents {
  connected: [];
  disconnected: [reason: string];
  event: [event: EngineEvent];
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

/** Docker's `since` takes unix seconds with a fraction: the nanoseconds of the last event seen. */
export function sinceOf(timeNano: number | bigint): string {
  const nanos = BigInt(timeNano);
  return `${nanos / 1_000_000_000n}.${String(nanos % 1_000_000_000n).padStart(9, '0')}`;
}

/** Parses one line of the events stream; undefined for anything that is not a container event with an id. */
export function parseEventLine(line: string): EngineEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as {
    Type?: string;
    Action?: string;
    id?: string;
    timeNano?: number;
    Actor?: { ID?: string; Attributes?: Record<string, string> };
  };
  const id = v.Actor?.ID ?? v.id;
  if (v.Type !== 'container' || !id || !v.Action) return undefined;
  return { id, action: v.Action, slot: slotOf(v.Actor?.Attributes), timeNano: v.timeNano ?? 0 };
}

/**
 * Follows the engine's events for one factory. The stream arrives in arbitrary chunks, so it is split into lines
 * before parsing. When it breaks (the engine restarted) it reconnects by itself, with backoff, from the last event
 * seen; `connected` fires after each (re)connection so the owner can resync what it missed.
 */
export class EventStream extends EventEmitter<EventStreamEvents> {
  private current: Readable | undefined;
  private closed = false;
  private lastTimeNano: number | undefined;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: unknown;
  private isConnected = false;

  constructor(
    private readonly open: (since?: string) => Promise<Readable>,
    private readonly clock: Clock,
  ) {
    super();
  }

  get connected(): boolean {
    return this.isConnected;
  }

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    let stream: Readable;
    try {
      stream = await this.open(this.lastTimeNano ? sinceOf(this.lastTimeNano) : undefined);
    } catch (error) {
      this.scheduleRetry(`cannot open the events stream: ${(error as Error).message}`);
      return;
    }
    if (this.closed) {
      stream.destroy();
      return;
    }
    this.current = stream;
    this.isConnected = true;
    this.retryMs = RETRY_MIN_MS;
    this.emit('connected');
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let reason = 'the engine closed the events stream';
    stream.on('error', (error: Error) => (reason = `events stream error: ${error.message}`));
    // readline ends only on 'end' or an error: a stream destroyed without either would leave the loop waiting forever.
    stream.once('close', () => lines.close());
    try {
      for await (const line of lines) {
        const event = parseEventLine(line);
        if (!event) continue;
        this.lastTimeNano = event.timeNano || this.lastTimeNano;
        this.emit('event', event);
      }
    } catch (error) {
      reason = `events stream error: ${(error as Error).message}`;
    }
    this.current = undefined;
    this.isConnected = false;
    if (!this.closed) this.scheduleRetry(reason);
  }

  private scheduleRetry(reason: string): void {
    if (this.closed) return; // an open that failed after close(): nothing to retry, no timer to keep the process up
    this.isConnected = false;
    this.emit('disconnected', reason);
    const delay = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = this.clock.setTimeout(() => void this.connect(), delay);
  }

  close(): void {
    this.closed = true;
    this.isConnected = false;
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    this.current?.destroy();
  }
}
