import { describe, expect, it } from '@jest/globals';
import { OptionError, oneValue, textValues } from './option-values.js';

describe('oneValue', () => {
  it.each<[unknown, string]>([
    ['cernvm:4', 'cernvm:4'],
    ['', ''],
    [['first', 'last'], 'last'],
  ])('takes %j as %j', (value, text) => {
    expect(oneValue('tag')(value)).toBe(text);
  });

  it.each<unknown>([false, true, { x: 'v' }, 3, undefined, [], ['a', false]])(
    'refuses %j by the flag’s name, as a usage error',
    (value) => {
      const refuse = () => oneValue('tag')(value);
      expect(refuse).toThrow(OptionError);
      expect(refuse).toThrow(
        expect.objectContaining({
          code: 'E_BAD_OPTION',
          isUsageError: true,
          message: '--tag: expected one value, such as --tag VALUE',
        }),
      );
    },
  );
});

describe('textValues', () => {
  it.each<[unknown, string[]]>([
    ['A=1', ['A=1']],
    [
      ['A=1', 'B=2'],
      ['A=1', 'B=2'],
    ],
    [[], []],
  ])('takes %j as %j', (value, texts) => {
    expect(textValues('attribute')(value)).toEqual(texts);
  });

  it.each<unknown>([false, { x: 'v' }, ['A=1', false], [['A=1']]])('refuses %j by the flag’s name', (value) => {
    expect(() => textValues('attribute')(value)).toThrow(
      expect.objectContaining({
        code: 'E_BAD_OPTION',
        message: '--attribute: expected a value, such as --attribute VALUE',
      }),
    );
  });
});
