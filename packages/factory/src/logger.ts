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

export function createLogger(format: 'human' | 'json', write: (line: string) => void, now = () => new Date()): Logger {
  return {
    log(level, event, fields = {}) {
      const defined = Object.entries(fields).filter(
        (entry): entry is [string, string | number | boolean] => entry[1] !== undefined,
      );
      if (format === 'json') {
        write(`${JSON.stringify({ time: now().toISOString(), level, event, ...Object.fromEntries(defined) })}\n`);
        return;
      }
      const text = defined.map(([k, v]) => `${k}=${humanValue(v)}`).join(' ');
      write(`${now().toISOString()} ${level.padEnd(5)} ${event}${text ? ` ${text}` : ''}\n`);
    },
  };
}

/** Short container ids in logs, as `docker ps` shows them. */
export const shortId = (id: string) => id.slice(0, 12);
