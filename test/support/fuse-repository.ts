import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { MountOps, SystemHostCommands } from '@docker-cernvm/mounter';

const run = promisify(execFile);
const hostMounts = new MountOps(new SystemHostCommands());

/** One file per squashfuse a test started: "<squashfuse pid> <test process pid>", so a later run finds leftovers. */
const PID_DIR = '/run/docker-cernvm-test/squashfuse';

/** Builds a squashfs image of `dir` (mksquashfs; lz4 keeps a 300 MB root to seconds). */
export async function squashImage(dir: string, image: string): Promise<void> {
  const partial = `${image}.partial-${process.pid}`;
  await run('mksquashfs', [dir, partial, '-noappend', '-quiet', '-no-progress', '-comp', 'lz4'], {
    maxBuffer: 1 << 22,
  });
  await rename(partial, image);
}

/** The squashfs image of a cached fixture root, built beside it once per machine (the root never changes). */
export async function cachedSquashImage(root: string): Promise<string> {
  const image = `${root}.squashfs`;
  const [built, source] = await Promise.all([stat(image).catch(() => undefined), stat(root)]);
  if (!built || built.mtimeMs < source.mtimeMs) await squashImage(root, image);
  return image;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Whether `pid` is a squashfuse process (a pid file may outlive its process, and the pid be reused). */
async function isSquashfuse(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.split('\0')[0]?.endsWith('squashfuse') ?? false;
}

async function mountedAt(target: string): Promise<string | undefined> {
  return (await hostMounts.table()).filter((e) => e.mountPoint === target).at(-1)?.fsType;
}

/** umount, lazily when busy (an overlay or a container still holds it). */
async function detach(target: string): Promise<void> {
  while (await mountedAt(target)) {
    await run('umount', [target]).catch(() => run('umount', ['-l', target]));
  }
}

/**
 * A read-only FUSE file system like a CVMFS repository: squashfuse serving a squashfs image at `target`, with
 * `allow_other` so that jobs of any user read it. Killing its process makes every access fail with "Transport
 * endpoint is not connected", as when the CVMFS client dies.
 */
export class SquashfuseMount {
  private constructor(
    readonly image: string,
    readonly target: string,
    private current: number,
  ) {}

  get pid(): number {
    return this.current;
  }

  static async mount(image: string, target: string): Promise<SquashfuseMount> {
    const mount = new SquashfuseMount(image, target, 0);
    await mount.start();
    return mount;
  }

  private async start(): Promise<void> {
    await mkdir(this.target, { recursive: true });
    await mkdir(PID_DIR, { recursive: true });
    // Foreground (-f), so that its pid is the process serving the mount; detached, so an interrupted run leaves it.
    const child = spawn('squashfuse', ['-f', '-o', 'ro,allow_other', this.image, this.target], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`squashfuse did not start for ${this.target}`);
    this.current = pid;
    await writeFile(path.join(PID_DIR, `${pid}.pid`), `${pid} ${process.pid}\n`);
    for (let waited = 0; (await mountedAt(this.target)) !== 'fuse.squashfuse'; waited += 20) {
      if (!alive(pid) || waited > 10_000) {
        await this.stop();
        throw new Error(`squashfuse ${this.image} did not mount at ${this.target}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Kills the FUSE process and leaves its mount behind, disconnected. */
  kill(): void {
    process.kill(this.current, 'SIGKILL');
  }

  /** Replaces a dead (or live) mount by a fresh one at the same place, as restarting the CVMFS client does. */
  async remount(): Promise<void> {
    await this.unmount();
    await this.start();
  }

  /** Unmounts (lazily when still in use) and ends the process. */
  async unmount(): Promise<void> {
    await detach(this.target);
    await this.stop();
  }

  private async stop(): Promise<void> {
    if (alive(this.current) && (await isSquashfuse(this.current))) process.kill(this.current, 'SIGKILL');
    await rm(path.join(PID_DIR, `${this.current}.pid`), { force: true });
  }
}

/**
 * Kills the squashfuse processes an interrupted run started (their test process is gone) and lazily unmounts what
 * they served; never touches a squashfuse of a run still going, nor one the tests did not start.
 */
export async function removeLeftoverSquashfuse(): Promise<void> {
  const files = await readdir(PID_DIR).catch(() => [] as string[]);
  for (const file of files) {
    const [pid, owner] = (await readFile(path.join(PID_DIR, file), 'utf8')).trim().split(' ').map(Number);
    if (!pid || (owner && alive(owner))) continue;
    if (alive(pid) && (await isSquashfuse(pid))) {
      const target = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')[5];
      process.kill(pid, 'SIGKILL');
      if (target) await detach(target).catch(() => undefined);
    }
    await rm(path.join(PID_DIR, file), { force: true });
  }
}
