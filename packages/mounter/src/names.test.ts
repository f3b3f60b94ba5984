import { describe, expect, it } from '@jest/globals';
import { checkRepository, checkRootPath, checkSnapshot, parseImageRef } from './names.js';

const hostile = ['', '../x', 'a b', ';rm', 'a/../b', '$(id)', '`id`', 'a\nb', '-rf', '.hidden', 'x|y', 'a&b'];

describe('checkRepository', () => {
  it.each(['cernvm-prod.cern.ch', 'cernvm-sl7.cern.ch', 'sft.cern.ch', 'repo.example.org'])('accepts %s', (name) => {
    expect(checkRepository(name)).toBe(name);
  });
  it.each([...hostile, 'cern', 'CERNVM.cern.ch', 'a..b', 'x.cern.ch/', '/cvmfs/x.cern.ch', `${'a'.repeat(64)}.ch`])(
    'refuses %j with E_BAD_NAME',
    (name) => {
      expect(() => checkRepository(name)).toThrow(expect.objectContaining({ code: 'E_BAD_NAME', isUsageError: true }));
    },
  );
});

describe('checkSnapshot', () => {
  it.each(['cernvm-system-4.7.1.0', 'generic-2024-01-01', 'A_1'])('accepts %s', (name) => {
    expect(checkSnapshot(name)).toBe(name);
  });
  it.each([...hostile, 'a/b', '..', '.', 'x'.repeat(129)])('refuses %j', (name) => {
    expect(() => checkSnapshot(name)).toThrow(expect.objectContaining({ code: 'E_BAD_NAME' }));
  });
});

describe('parseImageRef', () => {
  it('defaults the tag to latest', () => {
    expect(parseImageRef('cernvm')).toEqual({ name: 'cernvm', tag: 'latest' });
  });
  it('splits name and tag, keeping path components', () => {
    expect(parseImageRef('site/cernvm:4.7')).toEqual({ name: 'site/cernvm', tag: '4.7' });
  });
  it.each([...hostile, 'Cernvm:4', 'cernvm:', ':4', 'a//b', 'cernvm:4:5', 'cernvm:a b', '../cernvm:4'])(
    'refuses %j',
    (ref) => {
      expect(() => parseImageRef(ref)).toThrow(expect.objectContaining({ code: 'E_BAD_NAME' }));
    },
  );
});

describe('checkRootPath', () => {
  it.each(['cvm4', 'cvm3', 'roots/cvm4', 'a_b/c-d.e'])('accepts %s', (root) => {
    expect(checkRootPath(root)).toBe(root);
  });
  it.each([...hostile, '/cvm4', 'cvm4/', 'cvm4//x', 'cvm4/..', 'cvm4/../..', './cvm4'])('refuses %j', (root) => {
    expect(() => checkRootPath(root)).toThrow(expect.objectContaining({ code: 'E_BAD_NAME' }));
  });
});

describe('refusal messages', () => {
  // Found by names.property.test.ts: JSON quoting leaves U+2028, DEL and C1 controls raw in the message.
  it.each([
    ['a\u2028b', String.raw`"a\u2028b"`],
    ['a\u0085b', String.raw`"a\u0085b"`],
    ['a\u007fb', String.raw`"a\u007fb"`],
    ['cernvm\u2010prod.cern.ch', String.raw`"cernvm\u2010prod.cern.ch"`],
  ])('show %j escaped, on one line of printable ASCII', (name, shown) => {
    for (const check of [checkRepository, checkSnapshot, checkRootPath, parseImageRef]) {
      expect(() => check(name)).toThrow(
        expect.objectContaining({ message: expect.stringContaining(` ${shown}: expected`) }),
      );
      expect(() => check(name)).toThrow(expect.objectContaining({ message: expect.stringMatching(/^[\x20-\x7e]+$/) }));
    }
  });
});
