import type { ImageDescription, PlaceholderStatus } from '@docker-cernvm/mounter';
import type { FactoryMounter } from '../cli/context.js';

/**
 * A mounter that describes every image as `placeholder` says, or when it says undefined, `images` as ordinary images
 * and any other as missing; it refuses what a test did not set up.
 */
export function fakeMounter(
  placeholder: () => PlaceholderStatus | undefined = () => undefined,
  images: readonly string[] = ['cernvm:4'],
): FactoryMounter {
  return {
    describeImage: async (tag): Promise<ImageDescription> => {
      const status = placeholder();
      if (status) return { kind: 'placeholder', placeholder: status };
      return images.includes(tag) ? { kind: 'ordinary' } : { kind: 'missing' };
    },
    inspectPlaceholder: async () => placeholder(),
    snapshots: async () => {
      throw new Error('fake mounter: snapshots not set up');
    },
    mount: async () => {
      throw new Error('fake mounter: mount not set up');
    },
    resolveRoot: async () => {
      throw new Error('fake mounter: resolveRoot not set up');
    },
    publishedSnapshots: async () => {
      throw new Error('fake mounter: publishedSnapshots not set up');
    },
  };
}
