import { afterAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PilotError } from './errors.js';
import { isOneLine } from '@docker-cernvm/cli-kit/testing';
import { checkHostToken } from './token-check.js';

// Hundreds of runs each: more than jest's 5 s default when the whole suite runs in parallel.
jest.setTimeout(30_000);

// For any mode and any content, the host token check refuses exactly the tokens HTCondor would refuse or that
// would never work (missing, empty, readable or writable by group or others) with E_BAD_TOKEN and one line.
// The tests run as root, so the file is root's: ownership is covered by the example tests.

const tmp = await mkdtemp(path.join(tmpdir(), 'token-props-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));
let counter = 0;

describe('checkHostToken: any mode, any content', () => {
  it('accepts a non-empty token no one but its owner can read or write, and refuses every other with one line', async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.option(
          fc.record({
            mode: fc.oneof(
              fc.integer({ min: 0, max: 0o7777 }),
              fc.integer({ min: 0, max: 0o7777 }).map((m) => m & ~0o077),
            ),
            content: fc.oneof(fc.constant(''), fc.string({ minLength: 1 })),
          }),
          {
            freq: 8,
          },
        ),
        async (token) => {
          const file = path.join(tmp, `t${++counter}.token`);
          if (token) {
            await writeFile(file, token.content);
            await chmod(file, token.mode); // explicitly: writeFile's mode is subject to the umask
          }
          const error = await checkHostToken(file).then(
            () => undefined,
            (e: unknown) => e,
          );
          const expected = token !== null && token.content !== '' && (token.mode & 0o077) === 0;
          const where = { token, error: String(error) };
          expect({ ...where, accepted: error === undefined }).toEqual({ ...where, accepted: expected });
          if (error === undefined) return void seen.accepted++;
          seen.refused++;
          expect(error).toBeInstanceOf(PilotError);
          expect((error as PilotError).code).toBe('E_BAD_TOKEN');
          expect((error as PilotError).isUsageError).toBe(true);
          expect(isOneLine((error as PilotError).message)).toBe(true);
          expect((error as PilotError).message).toContain(file);
          if (token && token.content !== '' && token.mode & 0o077) {
            expect((error as PilotError).message).toContain(`has mode ${(token.mode & 0o777).toString(8)}: `);
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(seen.accepted).toBeGreaterThan(50);
    expect(seen.refused).toBeGreaterThan(100);
  });
});
