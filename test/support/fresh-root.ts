import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TMP_PREFIX } from './cleanup.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** Every fresh root lives in a directory starting with this, so a later run finds an interrupted run's leftovers. */
const ROOT_PREFIX = `${TMP_PREFIX}install-`;
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Whether tests that chroot and mount run: they need root. In CI they always do; elsewhere they are skipped, and
 * say so.
 */
export function rootAvailable(suite: string): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI) throw new Error(`${suite}: not root, and CI is set: the install tests must run`);
  console.warn(`${suite}: skipped, not root (they chroot into a Debian root and mount)`);
  return false;
}

/** The cached Debian 13 root with Debian's nodejs (test/fixtures/debian-node-root.sh builds it once). */
export async function debianNodeRoot(): Promise<string> {
  const { stdout } = await run('bash', [path.join(REPO, 'test/fixtures/debian-node-root.sh')], {
    maxBuffer: 1 << 24,
  });
  return stdout.trim();
}

/**
 * The .deb and npm tarballs under test: those in $DOCKER_CERNVM_DIST (scripts/test.sh builds them there), else built
 * now by scripts/build-deb.sh into `fallbackDir`.
 */
export async function packagedArtifacts(fallbackDir: string): Promise<{ deb: string; tarballs: string[] }> {
  let dir = process.env.DOCKER_CERNVM_DIST;
  if (!dir) {
    dir = fallbackDir;
    await run('bash', [path.join(REPO, 'scripts/build-deb.sh'), dir], { maxBuffer: 1 << 26 });
  }
  const files = await readdir(dir);
  const deb = files.find((f) => /^docker-cernvm_.*_all\.deb$/.test(f));
  const tarballs = files.filter((f) => f.endsWith('.tgz')).map((f) => path.join(dir, f));
  if (!deb || tarballs.length !== 4) throw new Error(`${dir} holds no .deb or not the four npm tarballs: ${files}`);
  return { deb: path.join(dir, deb), tarballs };
}

/** Mount points at or under `dir`, deepest first, from the host's mount table. */
async function mountsUnder(dir: string): Promise<string[]> {
  const table = await readFile('/proc/self/mounts', 'utf8');
  return table
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((point): point is string => !!point && (point === dir || point.startsWith(`${dir}/`)))
    .reverse();
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A throw-away copy of a root: an overlay over it (the cached root stays as built) with /proc, /sys and /dev bound,
 * commands run in it with chroot. `close()` unmounts everything and removes the copy.
 */
export class FreshRoot {
  private constructor(
    /** Holds the overlay's upper and work directories and the mount point. */
    readonly dir: string,
    readonly root: string,
  ) {}

  static async create(base: string): Promise<FreshRoot> {
    const dir = await mkdtemp(path.join(tmpdir(), ROOT_PREFIX));
    const root = path.join(dir, 'root');
    const fresh = new FreshRoot(dir, root);
    try {
      for (const sub of ['upper', 'work', 'root']) await mkdir(path.join(dir, sub));
      await run('mount', [
        '-t',
        'overlay',
        'overlay',
        '-o',
        `lowerdir=${base},upperdir=${dir}/upper,workdir=${dir}/work`,
        root,
      ]);
      // Private, so that nothing mounted in the copy propagates to the host; /dev with its /dev/pts for apt, as a
      // slave so that unmounting it here never unmounts the host's.
      await run('mount', ['--make-private', root]);
      await run('mount', ['-t', 'proc', 'proc', path.join(root, 'proc')]);
      await fresh.bind('/sys', '/sys');
      await run('mount', ['--rbind', '/dev', path.join(root, 'dev')]);
      await run('mount', ['--make-rslave', path.join(root, 'dev')]);
      return fresh;
    } catch (error) {
      await fresh.close();
      throw error;
    }
  }

  /** Binds a host path (read-write) at `inside` in the root, making the mount point when missing. */
  async bind(hostPath: string, inside: string): Promise<void> {
    const target = this.path(inside);
    const isDir = (await run('stat', ['-c', '%F', hostPath])).stdout.startsWith('directory');
    if (isDir) await mkdir(target, { recursive: true });
    else await run('touch', [target]);
    await run('mount', ['--bind', hostPath, target]);
  }

  /** A path inside the root, as the host sees it. */
  path(inside: string): string {
    return path.join(this.root, inside);
  }

  /** Runs a command in the root with a clean environment plus `env`; never rejects. */
  exec(command: readonly string[], env: Record<string, string> = {}): Promise<CommandResult> {
    const vars = Object.entries({ PATH, HOME: '/root', LANG: 'C.UTF-8', ...env }).map(([k, v]) => `${k}=${v}`);
    return new Promise((resolve, reject) => {
      const child = spawn('chroot', [this.root, '/usr/bin/env', '-i', ...vars, ...command], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  /** Like `exec`, but a non-zero exit is an error showing the command's output. */
  async check(command: readonly string[], env: Record<string, string> = {}): Promise<string> {
    const result = await this.exec(command, env);
    if (result.code !== 0)
      throw new Error(`${command.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  async close(): Promise<void> {
    await removeRoot(this.dir);
  }

  /** Removes the copies an interrupted earlier run left. */
  static async removeLeftovers(): Promise<void> {
    for (const entry of await readdir(tmpdir()))
      if (entry.startsWith(ROOT_PREFIX)) await removeRoot(path.join(tmpdir(), entry));
  }
}

/** Unmounts everything under `dir`, then removes it; never removes while something is still mounted there. */
async function removeRoot(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) await run('umount', [point]).catch(() => run('umount', ['-l', point]));
  const left = await mountsUnder(dir);
  if (left.length) throw new Error(`still mounted under ${dir}, not removing it: ${left.join(', ')}`);
  await rm(dir, { recursive: true, force: true });
}
