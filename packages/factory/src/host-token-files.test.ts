import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { HostTokenFiles } from './host-token-files.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'host-token-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('HostTokenFiles', () => {
  it('copies the token into a 0700 directory as a 0600 file, and replaces the copy by a rename', () => {
    const source = path.join(root, 'pool.token');
    writeFileSync(source, 'one\n', { mode: 0o600 });
    const files = new HostTokenFiles(path.join(root, 'tokens.d'), 'pool.token');
    expect(files.install(source)).toBe(true);
    const copy = path.join(root, 'tokens.d', 'pool.token');
    expect(readFileSync(copy, 'utf8')).toBe('one\n');
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(root, 'tokens.d')).mode & 0o777).toBe(0o700);
    const before = statSync(copy).ino;
    expect(files.install(source)).toBe(false);
    writeFileSync(path.join(root, 'new'), 'two\n', { mode: 0o600 });
    renameSync(path.join(root, 'new'), source);
    expect(files.install(source)).toBe(true);
    expect(readFileSync(copy, 'utf8')).toBe('two\n');
    expect(statSync(copy).ino).not.toBe(before);
  });

  it('sees a token replaced at the same path, or chmodded, in its fingerprint; none for a missing one', () => {
    const source = path.join(root, 'pool.token');
    const files = new HostTokenFiles(path.join(root, 'tokens.d'), 'pool.token');
    expect(files.fingerprint(source)).toBeUndefined();
    writeFileSync(source, 'one\n', { mode: 0o600 });
    const first = files.fingerprint(source);
    chmodSync(source, 0o644);
    const second = files.fingerprint(source);
    expect(second).not.toBe(first);
    writeFileSync(path.join(root, 'new'), 'one\n', { mode: 0o644 });
    renameSync(path.join(root, 'new'), source);
    expect(files.fingerprint(source)).not.toBe(second);
  });
});
