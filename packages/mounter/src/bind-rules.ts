import type { ContainerUse } from './docker-api.js';
import { type DirectoryIdentity, type MountEntry, identityOfMount, isReadOnly, sameIdentity } from './mountinfo.js';

/** What to do at a placeholder's layer directory to show the wanted CernVM root there. */
export type BindDecision =
  | { kind: 'mount' }
  | { kind: 'unchanged' }
  | { kind: 'make-read-only' }
  | { kind: 'remount' }
  | { kind: 'refuse'; users: ContainerUse[] };

/**
 * Same source: nothing to do (a writable bind is made read-only in place). A different source: remount, unless
 * containers use the layer, because their root would change under them.
 */
export function decideBind(
  current: MountEntry | undefined,
  wanted: DirectoryIdentity,
  users: readonly ContainerUse[],
): BindDecision {
  if (!current) return { kind: 'mount' };
  if (sameIdentity(identityOfMount(current), wanted)) {
    return isReadOnly(current) ? { kind: 'unchanged' } : { kind: 'make-read-only' };
  }
  return users.length > 0 ? { kind: 'refuse', users: [...users] } : { kind: 'remount' };
}

export function describeUsers(users: readonly ContainerUse[]): string {
  return users.map((user) => `${user.name} (${user.state})`).join(', ');
}
