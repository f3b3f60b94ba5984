import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * A regular file's content and mode, read without following a link at its name and only when it holds at most
 * `maxBytes`; undefined for anything else (missing, a link, a directory, a FIFO, a device, larger). For files a slot's
 * container can write (its /pilot): a FIFO there would block a plain read for good, and /dev/zero behind a link would
 * fill the reader's memory. One read of the size fstat gives (readFileSync would stat again and read until the end).
 */
export function readRegularFile(file: string, maxBytes: number): { content: Buffer; mode: number } | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > maxBytes) return undefined;
    const content = Buffer.allocUnsafe(info.size);
    const read = readSync(fd, content, 0, content.length, 0);
    return { content: content.subarray(0, read), mode: info.mode & 0o7777 };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
