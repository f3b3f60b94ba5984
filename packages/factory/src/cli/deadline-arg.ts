import ms from 'ms';
import { MAX_DEADLINE_SECONDS } from '../control-protocol.js';
import { FactoryError } from '../errors.js';

/**
 * `--deadline 45m`: how long from now the drained pilots may keep their jobs, in whole seconds. Units as the `ms`
 * package reads them (s, m, h, d; `1.5h`); a bare number is seconds, like every duration in the configuration.
 */
export function parseDeadlineArg(text: string): number {
  const trimmed = text.trim();
  // ms throws on an empty string and answers undefined for what it cannot read.
  const millis: number | undefined = /^\d+$/.test(trimmed)
    ? Number(trimmed) * 1000
    : trimmed
      ? ms(trimmed as ms.StringValue)
      : undefined;
  if (millis === undefined || !Number.isFinite(millis) || millis < 0 || millis / 1000 > MAX_DEADLINE_SECONDS) {
    throw new FactoryError(
      'E_BAD_OPTION',
      `--deadline: expected a duration up to 30d, such as 45m, 2h or 90s, got ${JSON.stringify(text)}`,
    );
  }
  return Math.round(millis / 1000);
}
