import type { HostMountOf, MountHost } from '@docker-cernvm/pilot';

/** A host where the paths a test lists exist (as themselves), on a shared mount unless listed as private. */
export class FakeMountHost implements MountHost {
  readonly existing = new Set<string>();
  readonly privateMounts = new Set<string>();

  async resolve(path: string): Promise<string | undefined> {
    return this.existing.has(path) ? path : undefined;
  }

  async mountOf(path: string): Promise<HostMountOf> {
    return { mountPoint: path, propagation: this.privateMounts.has(path) ? 'private' : 'shared' };
  }
}
