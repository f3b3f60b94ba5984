import { describe, expect, it } from '@jest/globals';
import { absolutePath, envName, wholeNumber } from './value-rules.js';

const messageOf = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
  result.error?.issues[0]?.message;

describe('absolutePath', () => {
  it.each(['/a', '/etc/docker-cernvm/pool.token', '/a/.hidden', '/a/b..c', '/site@x/v+1', '/a-b_c'])(
    'accepts %j',
    (path) => {
      expect(absolutePath().safeParse(path).success).toBe(true);
    },
  );

  it.each(['', '/', 'a', './a', '/a/../b', '/a/.', '/a//b', '/a/', '/a b', '/a:b', '/a$b', '/a,b', '/é'])(
    'refuses %j, saying which names',
    (path) => {
      expect(messageOf(absolutePath('host').safeParse(path))).toBe(
        'an absolute host path of plain names (letters, digits, . _ @ + -)',
      );
    },
  );

  it('names what it expected for a value that is not text', () => {
    expect(messageOf(absolutePath().safeParse(3))).toBe('an absolute path');
  });
});

describe('wholeNumber', () => {
  it.each<[unknown, string | undefined]>([
    [1, undefined],
    [300, undefined],
    [0, 'whole seconds ≥ 1'],
    [301, 'whole seconds ≤ 300'],
    [1.5, 'whole seconds'],
    ['5', 'whole seconds'],
  ])('%j: %s', (value, message) => {
    expect(messageOf(wholeNumber(1, 300, 'whole seconds').safeParse(value))).toBe(message);
  });
});

describe('envName', () => {
  it.each<[string, boolean]>([
    ['SITE', true],
    ['_X1', true],
    ['1X', false],
    ['MY-VAR', false],
    ['', false],
  ])('%j: %s', (name, ok) => {
    expect(envName.safeParse(name).success).toBe(ok);
  });
});
