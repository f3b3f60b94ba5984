import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { renderEntrypointSettings, shellQuote } from './entrypoint-settings.js';
import type { PilotOptionsInput } from './options.js';
import { testOptions } from './testing/pilot-options.js';

const NAMES = ['TOKEN_FILE', 'HEARTBEAT_SECONDS', 'MAX_LIFETIME_SECONDS', 'MEMORY_MB', 'EXECUTE_DIR'] as const;

/** What the entrypoint sees: the file run by bash (node's stdin is a socket, which /dev/stdin cannot open), read back. */
function sourced(overrides: Partial<PilotOptionsInput> = {}): Record<string, string> {
  const script = `eval "$(cat)"; printf '%s\\0' ${NAMES.map((name) => `"$${name}"`).join(' ')}`;
  const output = execFileSync('bash', ['-c', script], { input: renderEntrypointSettings(testOptions(overrides)) });
  const values = output.toString('utf8').split('\0');
  return Object.fromEntries(NAMES.map((name, index) => [name, values[index] ?? '']));
}

describe('pilot.env', () => {
  it('gives the entrypoint its defaults: the token under the pilot directory, 30 s, no lifetime, auto memory', () => {
    expect(sourced()).toEqual({
      TOKEN_FILE: '/pilot/tokens.d/pool.token',
      HEARTBEAT_SECONDS: '30',
      MAX_LIFETIME_SECONDS: '0',
      MEMORY_MB: 'auto',
      EXECUTE_DIR: '',
    });
  });

  it('gives it the options when set', () => {
    const options = {
      tokenFile: '/etc/condor/tokens.d/pool.token',
      heartbeatSeconds: 2,
      maxLifetimeSeconds: 86_400,
      memoryMb: 2048,
      executeDir: '/scratch',
    };
    expect(sourced(options)).toEqual({
      TOKEN_FILE: '/etc/condor/tokens.d/pool.token',
      HEARTBEAT_SECONDS: '2',
      MAX_LIFETIME_SECONDS: '86400',
      MEMORY_MB: '2048',
      EXECUTE_DIR: '/scratch',
    });
  });
});

describe('shellQuote', () => {
  it('gives back any text through bash, unexpanded, as one word', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }).filter((text) => !text.includes('\0')),
        (text) => {
          const echoed = execFileSync('bash', ['-c', `printf '%s' ${shellQuote(text)}`]);
          expect(echoed.toString('utf8')).toBe(text);
        },
      ),
      { numRuns: 50 },
    );
  });
});
