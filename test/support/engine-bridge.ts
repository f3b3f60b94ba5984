import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { hostMounts } from './cleanup.js';

const run = promisify(execFile);

/**
 * A bridge of a second engine's own, made before it starts and deleted after it stops: an engine started in the
 * host's network namespace with --bridge=none deletes the host's docker0 (docs/testing.md). No traffic goes to it.
 */
export class EngineBridge {
  constructor(
    readonly name: string,
    /** An address of a /24 used by this engine only, e.g. `10.213.1.1/24`. */
    private readonly address: string,
  ) {}

  /** Makes it anew: a killed run may have left it. */
  async up(): Promise<void> {
    await this.down();
    await run('ip', ['link', 'add', this.name, 'type', 'bridge']);
    await run('ip', ['addr', 'add', this.address, 'dev', this.name]);
    await run('ip', ['link', 'set', this.name, 'up']);
  }

  async down(): Promise<void> {
    const present = await run('ip', ['link', 'show', this.name]).then(
      () => true,
      () => false,
    );
    if (present) await run('ip', ['link', 'delete', this.name]);
  }
}

/** Unmounts everything mounted at or under these directories (what a stopped or killed engine left), deepest first. */
export async function unmountUnder(directories: readonly string[]): Promise<void> {
  const under = (mountPoint: string) => directories.some((d) => mountPoint === d || mountPoint.startsWith(`${d}/`));
  const mountPoints = [...new Set((await hostMounts.table()).map((e) => e.mountPoint).filter(under))];
  mountPoints.sort((a, b) => b.split('/').length - a.split('/').length);
  for (const mountPoint of mountPoints) await hostMounts.unmountAll(mountPoint);
}
