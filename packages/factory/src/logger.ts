/** Structured logs: one event per line with fields; human-readable on a terminal, JSON for collectors. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

function humanValue(value: string | number | boolean): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/**
 * The time as toISOString writes it (years 0-9999), from the UTC getters. toISOString sets up V8's date cache, which
 * loads the host's time zone from ICU's data: 14 ms of the first log line when that data is not in the page cache
 * (after a boot), before the first container; the UTC getters need no time zone.
 */
export function isoTimestamp(date: Date): string {
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)}Z`
  );
}

export function createLogger(format: 'human' | 'json', write: (line: string) => void, now = () => new Date()): Logger {
  return {
    log(level, event, fields = {}) {
      const defined = Object.entries(fields).filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined);
      if (format === 'json') {
        write(`${JSON.stringify({ time: isoTimestamp(now()), level, event, ...Object.fromEntries(defined) })}\n`);
        return;
      }
      const text = defined.map(([k, v]) => `${k}=${humanValue(v)}`).join(' ');
      write(`${isoTimestamp(now())} ${level.padEnd(5)} ${event}${text ? ` ${text}` : ''}\n`);
    },
  };
}

/** Short container ids in logs, as `docker ps` shows them. */
export const shortId = (id: string) => id.slice(0, 12);
