import type { PlaceholderStatus } from '@docker-cernvm/mounter';
import type { FollowMounter } from '../snapshot-follower.js';

/** A mounter that answers `inspectPlaceholder` with a fixed status and refuses what a test did not set up. */
export function fakeMounter(placeholder: () => PlaceholderStatus | undefined = () => undefined): FollowMounter {
  return {
    inspectPlaceholder: async () => placeholder(),
    snapshots: async () => {
      throw new Error('fake mounter: snapshots not set up');
    },
    mount: async () => {
      throw new Error('fake mounter: mount not set up');
    },
  };
}
