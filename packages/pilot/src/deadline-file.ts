import { readRegularFile } from './regular-file.js';

/**
 * The slot's deadline, beside the rendered files in its pilot directory: one config line the startd includes (so the
 * slot ad carries `CernvmDeadline`) and the entrypoint reads to vacate the job when it comes. The factory writes it.
 */
export const DEADLINE_FILE = 'deadline.conf';

const LINE = /^CernvmDeadline = (\d{1,12})\n?$/;

/** The file's text for a deadline in Unix seconds. */
export function renderDeadlineFile(epochSeconds: number): string {
  if (!Number.isSafeInteger(epochSeconds) || epochSeconds < 0) {
    throw new RangeError(`a deadline is a whole number of Unix seconds, got ${epochSeconds}`);
  }
  return `CernvmDeadline = ${epochSeconds}\n`;
}

/** The deadline in Unix seconds, or undefined when the text is not one line the factory wrote. */
export function parseDeadlineFile(text: string): number | undefined {
  const match = LINE.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Reads the deadline file (only a small regular file, never through a link: the slot's container can write there). */
export function readDeadlineFile(file: string): number | undefined {
  const found = readRegularFile(file, 64);
  return found ? parseDeadlineFile(found.content.toString('utf8')) : undefined;
}
