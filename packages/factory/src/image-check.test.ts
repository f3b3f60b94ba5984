import { describe, expect, it } from '@jest/globals';
import type { ImageDescription, PlaceholderStatus } from '@docker-cernvm/mounter';
import { FactoryError } from './errors.js';
import { checkSlotImage } from './image-check.js';
import { placeholderStatus } from './testing/builders.js';

const mounterSaying = (described: ImageDescription) => ({ describeImage: async () => described });
const placeholder = (status: PlaceholderStatus): ImageDescription => ({ kind: 'placeholder', placeholder: status });

async function errorOf(promise: Promise<unknown>): Promise<FactoryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FactoryError);
  return error as FactoryError;
}

describe('checkSlotImage', () => {
  it('uses an ordinary image that exists as it is', async () => {
    expect(await checkSlotImage('busybox:1', mounterSaying({ kind: 'ordinary' }))).toEqual({ placeholder: false });
  });

  it('refuses an image that does not exist, saying how to make it (exit 1, not a usage error)', async () => {
    const error = await errorOf(checkSlotImage('cernvm:4', mounterSaying({ kind: 'missing' })));
    expect(error.code).toBe('E_NO_IMAGE');
    expect(error.isUsageError).toBe(false);
    expect(error.message).toBe(
      'no image cernvm:4: mount a CernVM root as it first (docker-cernvm mount --tag cernvm:4) or name another with --image',
    );
  });

  it('refuses a placeholder with nothing mounted over it, naming docker-cernvm mount', async () => {
    const error = await errorOf(
      checkSlotImage('cernvm:4', mounterSaying(placeholder(placeholderStatus({ bound: undefined })))),
    );
    expect(error.code).toBe('E_NOT_MOUNTED');
    expect(error.isUsageError).toBe(false);
    expect(error.message).toMatch(
      /^cernvm:4 is a docker-cernvm placeholder with no CernVM root mounted over it: run docker-cernvm mount --tag cernvm:4 first$/,
    );
  });

  it('accepts a mounted placeholder and reports the CernVM version found', async () => {
    expect(
      await checkSlotImage('cernvm:4', mounterSaying(placeholder(placeholderStatus({ version: '4.7.2' })))),
    ).toEqual({
      placeholder: true,
      cernvmVersion: '4.7.2',
    });
  });

  it('accepts a mounted placeholder without a version marker', async () => {
    expect(
      await checkSlotImage('cernvm:4', mounterSaying(placeholder(placeholderStatus({ version: undefined })))),
    ).toEqual({ placeholder: true });
  });
});
