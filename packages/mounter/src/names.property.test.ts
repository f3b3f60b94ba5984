import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { MounterError } from './errors.js';
import { SHELL_METACHARACTERS, anyName, isOneLine } from '@docker-cernvm/cli-kit/testing';
import { checkRepository, checkRootPath, checkSnapshot, parseImageRef } from './names.js';

// Hundreds of runs each: more than jest's 5 s default when the whole suite runs in parallel.
jest.setTimeout(30_000);

// Property tests: for any string, a check either accepts it and it is safe as a path component and a command-line
// word, or refuses it with E_BAD_NAME and one line. The patterns below are the README's, written again here on
// purpose: if names.ts drifted, these would disagree.

const RUNS = { numRuns: 1000 };

/** Whether the string has nothing a shell, an option list or a path could read as more than a plain name. */
function isPlainWord(value: string, allowed: readonly string[] = []): boolean {
  return (
    value.length > 0 &&
    !value.startsWith('-') &&
    !/\s/u.test(value) &&
    ![...value].some((c) => SHELL_METACHARACTERS.includes(c) && !allowed.includes(c)) &&
    /^[\x21-\x7e]+$/.test(value) // printable ASCII only: no unicode look-alikes, no control characters
  );
}

/** The outcome of one check: accepted (with what it returned) or refused (with the error). */
function outcome<T>(check: () => T): { accepted: T } | { refused: unknown } {
  try {
    return { accepted: check() };
  } catch (error) {
    return { refused: error };
  }
}

function expectNameRefusal(error: unknown): void {
  expect(error).toBeInstanceOf(MounterError);
  const e = error as MounterError;
  expect(e.code).toBe('E_BAD_NAME');
  expect(e.isUsageError).toBe(true);
  expect(isOneLine(e.message)).toBe(true);
}

const validRepository = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}[a-z0-9](?:\.[a-z0-9][a-z0-9-]{0,5}[a-z0-9]){1,3}$/);
const validSnapshot = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/);
const validImage = fc.stringMatching(
  /^[a-z0-9]+(?:[._-][a-z0-9]+)?(?:\/[a-z0-9]+)?(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,10})?$/,
);
const validRoot = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,10}(?:\/[A-Za-z0-9_][A-Za-z0-9._-]{0,10}){0,3}$/);

describe('names: any string is either a safe name or a one-line E_BAD_NAME', () => {
  it('checkRepository: accepted repository names are DNS names, never a path or a shell word', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyName(validRepository), (name) => {
        const result = outcome(() => checkRepository(name));
        if ('refused' in result) return expectNameRefusal(result.refused);
        accepted++;
        expect(result.accepted).toBe(name);
        expect(isPlainWord(name)).toBe(true);
        expect(name).not.toContain('/');
        expect(name).not.toContain('..');
        expect(name).toMatch(/^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/);
        expect(name.length).toBeLessThanOrEqual(253);
      }),
      RUNS,
    );
    expect(accepted).toBeGreaterThan(50); // both sides are reached, or the property proves little
  });

  it('checkSnapshot: accepted snapshot names are one plain path component', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyName(validSnapshot), (name) => {
        const result = outcome(() => checkSnapshot(name));
        if ('refused' in result) return expectNameRefusal(result.refused);
        accepted++;
        expect(result.accepted).toBe(name);
        expect(isPlainWord(name)).toBe(true);
        expect(name).not.toContain('/');
        // `a..b` is one harmless component (CVMFS tags are free text); what must never pass is `.` or `..` itself.
        expect(name).not.toMatch(/^\.{1,2}$/);
        expect(name).not.toMatch(/^\./);
        expect(name.length).toBeLessThanOrEqual(128);
      }),
      RUNS,
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it('parseImageRef: accepted references are NAME:TAG in Docker’s grammar, without a path escape', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyName(validImage), (ref) => {
        const result = outcome(() => parseImageRef(ref));
        if ('refused' in result) return expectNameRefusal(result.refused);
        accepted++;
        const { name, tag } = result.accepted;
        expect(ref === name || ref === `${name}:${tag}`).toBe(true);
        expect(isPlainWord(name, ['/'])).toBe(true);
        expect(isPlainWord(tag)).toBe(true);
        expect(name).not.toContain('..');
        expect(name.split('/').every((part) => /^[a-z0-9]/.test(part) && /[a-z0-9]$/.test(part))).toBe(true);
        expect(tag).not.toMatch(/^[.-]/);
      }),
      RUNS,
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it('checkRootPath: accepted roots are relative paths of plain components, none of them . or ..', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyName(validRoot), (root) => {
        const result = outcome(() => checkRootPath(root));
        if ('refused' in result) return expectNameRefusal(result.refused);
        accepted++;
        expect(result.accepted).toBe(root);
        expect(isPlainWord(root, ['/'])).toBe(true);
        for (const part of root.split('/')) {
          expect(part).not.toBe('');
          expect(part).not.toMatch(/^\./);
          expect(isPlainWord(part)).toBe(true);
        }
      }),
      RUNS,
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it('refuses any string with a shell metacharacter or whitespace, for every kind of name', () => {
    const hostile = fc
      .tuple(
        fc.string({ maxLength: 8 }),
        fc.constantFrom(...SHELL_METACHARACTERS.filter((c) => c !== ':')),
        fc.string({ maxLength: 8 }),
      )
      .map(([a, c, b]) => `${a}${c}${b}`);
    fc.assert(
      fc.property(hostile, (name) => {
        for (const check of [checkRepository, checkSnapshot, checkRootPath, parseImageRef]) {
          const result = outcome(() => check(name));
          expect('refused' in result).toBe(true);
          if ('refused' in result) expectNameRefusal(result.refused);
        }
      }),
      RUNS,
    );
  });
});
