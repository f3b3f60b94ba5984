import { describe, expect, it } from '@jest/globals';
import { CliError } from './cli-error.js';

class SiteError extends CliError<'E_BAD' | 'E_DOWN'> {
  override readonly name = 'SiteError';

  override get isUsageError(): boolean {
    return this.code === 'E_BAD';
  }
}

describe('CliError', () => {
  it('keeps the code, the message, the cause and the subclass', () => {
    const cause = new Error('inner');
    const error = new SiteError('E_DOWN', 'the engine is down', { cause });
    expect(error).toBeInstanceOf(CliError);
    expect(error).toBeInstanceOf(SiteError);
    expect({ code: error.code, message: error.message, name: error.name, cause: error.cause }).toEqual({
      code: 'E_DOWN',
      message: 'the engine is down',
      name: 'SiteError',
      cause,
    });
    expect(error.isUsageError).toBe(false);
    expect(new SiteError('E_BAD', 'x').isUsageError).toBe(true);
  });
});
