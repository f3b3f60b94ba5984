import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDeadlineFile, readDeadlineFile, renderDeadlineFile } from './deadline-file.js';

describe('deadline file', () => {
  it('renders a config line that parses back to the same Unix time', () => {
    expect(renderDeadlineFile(1_796_380_800)).toBe('CernvmDeadline = 1796380800\n');
    expect(parseDeadlineFile(renderDeadlineFile(1_796_380_800))).toBe(1_796_380_800);
  });

  it('refuses a deadline that is not whole Unix seconds', () => {
    expect(() => renderDeadlineFile(1.5)).toThrow(RangeError);
    expect(() => renderDeadlineFile(-1)).toThrow(RangeError);
  });

  it.each(['', 'CernvmDeadline = soon\n', 'CernvmDeadline = 1\nSTART = True\n', 'X = 1\n'])(
    'reads %j as no deadline',
    (text) => expect(parseDeadlineFile(text)).toBeUndefined(),
  );

  it('reads a regular file, not a missing one or a link', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'deadline-file-'));
    try {
      const file = path.join(dir, 'deadline.conf');
      expect(readDeadlineFile(file)).toBeUndefined();
      await writeFile(file, renderDeadlineFile(42));
      expect(readDeadlineFile(file)).toBe(42);
      await symlink(file, path.join(dir, 'link.conf'));
      expect(readDeadlineFile(path.join(dir, 'link.conf'))).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
