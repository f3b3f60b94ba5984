import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FeaturesDirWriter } from './features-dir.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'features-dir-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const files = (job: Record<string, string>) => ({ machine: { total_cpu: '8\n' }, job });

describe('FeaturesDirWriter', () => {
  it('writes machine/ and job/ readable by the slot’s user, with no temporary file left', () => {
    const dir = path.join(root, 'slot-0');
    expect(new FeaturesDirWriter().write(dir, files({ allocated_cpu: '1\n' }))).toBe(true);
    expect(readFileSync(path.join(dir, 'machine', 'total_cpu'), 'utf8')).toBe('8\n');
    expect(readFileSync(path.join(dir, 'job', 'allocated_cpu'), 'utf8')).toBe('1\n');
    expect(statSync(path.join(dir, 'job')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(dir, 'job', 'allocated_cpu')).mode & 0o777).toBe(0o644);
    expect(readdirSync(path.join(dir, 'job'))).toEqual(['allocated_cpu']);
  });

  it('replaces a changed file with a new one (a read-only bind of the directory sees it) and removes a dropped one', () => {
    const dir = path.join(root, 'slot-0');
    const writer = new FeaturesDirWriter();
    writer.write(dir, files({ allocated_cpu: '1\n', shutdowntime_job: '100\n', wall_limit_secs: '50\n' }));
    const before = statSync(path.join(dir, 'machine', 'total_cpu')).ino;
    const replaced = statSync(path.join(dir, 'job', 'allocated_cpu')).ino;
    writer.write(dir, files({ allocated_cpu: '2\n' }));
    expect(readdirSync(path.join(dir, 'job')).sort()).toEqual(['allocated_cpu']);
    expect(readFileSync(path.join(dir, 'job', 'allocated_cpu'), 'utf8')).toBe('2\n');
    expect(statSync(path.join(dir, 'job', 'allocated_cpu')).ino).not.toBe(replaced);
    expect(statSync(path.join(dir, 'machine', 'total_cpu')).ino).not.toBe(before);
  });

  it('writes nothing when the files are as last written, until told to forget', () => {
    const dir = path.join(root, 'slot-0');
    const writer = new FeaturesDirWriter();
    writer.write(dir, files({ allocated_cpu: '1\n' }));
    writeFileSync(path.join(dir, 'job', 'allocated_cpu'), 'tampered\n');
    expect(writer.write(dir, files({ allocated_cpu: '1\n' }))).toBe(false);
    expect(readFileSync(path.join(dir, 'job', 'allocated_cpu'), 'utf8')).toBe('tampered\n');
    writer.forget(dir);
    expect(writer.write(dir, files({ allocated_cpu: '1\n' }))).toBe(true);
    expect(readFileSync(path.join(dir, 'job', 'allocated_cpu'), 'utf8')).toBe('1\n');
  });

  it('makes a directory of its own where a file stood', () => {
    const dir = path.join(root, 'slot-0');
    new FeaturesDirWriter().write(dir, files({}));
    rmSync(path.join(dir, 'job'), { recursive: true });
    writeFileSync(path.join(dir, 'job'), 'not a directory');
    new FeaturesDirWriter().write(dir, files({ allocated_cpu: '1\n' }));
    expect(readFileSync(path.join(dir, 'job', 'allocated_cpu'), 'utf8')).toBe('1\n');
  });
});
