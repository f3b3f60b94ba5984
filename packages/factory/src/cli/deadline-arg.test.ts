import { describe, expect, it } from '@jest/globals';
import { parseDeadlineArg } from './deadline-arg.js';

describe('--deadline', () => {
  it.each([
    ['45m', 2700],
    ['2h', 7200],
    ['1.5h', 5400],
    ['20s', 20],
    ['90', 90],
    ['0', 0],
    ['30d', 30 * 86_400],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseDeadlineArg(text)).toBe(seconds);
  });

  it.each(['', 'soon', '-5m', '45 minutes later', '31d', '1e400'])('refuses %j with a usage error', (text) => {
    expect(() => parseDeadlineArg(text)).toThrow(
      expect.objectContaining({
        code: 'E_BAD_OPTION',
        isUsageError: true,
        message: expect.stringContaining('--deadline'),
      }),
    );
  });
});
