import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TMP_PREFIX } from './cleanup.js';
import { CentralManager, TRUST_DOMAIN } from './central-manager.js';
import { type MountedCondorImage, mountCondorImage, removeUnmounted } from './condor-image.js';
import { FactoryProcess, removeFactoryContainers } from './factory-process.js';

/**
 * What a real-pool test runs its factories in: the HTCondor stand-in root mounted as an image, a central manager
 * on it, a temporary directory, and no slot containers of the given factory names before or after.
 */
export class TestPool {
  private factory: FactoryProcess | undefined;

  private constructor(
    readonly tmp: string,
    readonly condor: MountedCondorImage,
    readonly manager: CentralManager,
    private readonly names: readonly string[],
  ) {}

  static async start(names: readonly string[]): Promise<TestPool> {
    const condor = await mountCondorImage();
    let tmp: string | undefined;
    try {
      tmp = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
      const manager = await CentralManager.start(condor.image, path.join(tmp, 'cm'));
      for (const name of names) await removeFactoryContainers(name);
      return new TestPool(tmp, condor, manager, names);
    } catch (error) {
      await condor.release();
      if (tmp) await removeUnmounted(tmp);
      throw error;
    }
  }

  /**
   * `docker-cernvm-factory start` of real pilots (the mounted HTCondor root) joining this pool: no pinning, 512 MB
   * slots, no HTTP listener, JSON logs; `extra` adds options. It replaces the factory started before, which must
   * have been stopped.
   */
  startFactory(
    name: string,
    slots: number,
    extra: readonly string[] = [],
    tokenFile = this.manager.tokenFile,
  ): FactoryProcess {
    if (this.factory) throw new Error('a factory still runs in this test pool: stopFactory() first');
    // prettier-ignore
    this.factory = new FactoryProcess([
      'start', '--name', name, '--slots', String(slots), '--image', this.condor.image,
      '--collector', this.manager.collector, '--trust-domain', TRUST_DOMAIN, '--token-file', tokenFile,
      '--state-dir', path.join(this.tmp, 'state'), '--scratch-dir', path.join(this.tmp, 'scratch'),
      '--socket', path.join(this.tmp, `${name}.sock`), '--listen', 'none', '--no-pin', '--memory-mb', '512',
      '--log-format', 'json', ...extra,
    ]);
    return this.factory;
  }

  /** Kills the factory (its slots would outlive a drain the test did not ask for) and removes their containers. */
  async stopFactory(): Promise<void> {
    this.factory?.signal('SIGKILL');
    await this.factory?.exit;
    this.factory = undefined;
    for (const name of this.names) await removeFactoryContainers(name);
  }

  async stop(): Promise<void> {
    await this.stopFactory();
    await this.manager.stop();
    await this.condor.release();
    await removeUnmounted(this.tmp);
  }
}
