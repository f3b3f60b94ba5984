// A real HTCondor pool for the benchmarks: the tests' HTCondor root served as an image by the mounter's public API
// (as scripts/demo.sh serves it), a central manager from that image on 127.0.0.1, and a cheap watch on the slot ads
// its collector holds. The tests do the same in TypeScript (test/support/condor-image.ts, central-manager.ts); the
// central manager's files come from the fixture both use, the rest is kept to what a benchmark needs.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MountOps, SystemHostCommands, createMounter } from '@docker-cernvm/mounter';
import { writeCentralManagerDir } from '../test/fixtures/central-manager-dir.mjs';

const run = promisify(execFile);
const CONDOR_ROOT_SCRIPT = fileURLToPath(new URL('../test/fixtures/condor-root.sh', import.meta.url));
const hostMounts = new MountOps(new SystemHostCommands());
const dockerCli = (...args) => run('docker', args, { maxBuffer: 16 << 20 });

/** The Debian 13 + HTCondor root the tests use, built once per machine (cached; about 2 minutes when cold). */
export async function condorRoot() {
  const { stdout } = await run('bash', [CONDOR_ROOT_SCRIPT], { maxBuffer: 1 << 20, timeout: 15 * 60_000 });
  return stdout.trim().split('\n').pop();
}

/**
 * The root as the image `tag`: a stand-in repository under `work` (a read-only bind of the root at
 * <cvmfs>/<repository>/cvm4) mounted over a placeholder. `work` is fixed per benchmark, so `release()` of a later run
 * also removes what an interrupted one left (its containers must be gone first).
 */
export async function mountCondorImage({ work, repository, tag }) {
  const cvmfsDir = path.join(work, 'cvmfs');
  const standIn = path.join(cvmfsDir, repository, 'cvm4');
  const mounter = createMounter({
    paths: { cvmfsDir, mountBase: path.join(work, 'mnt'), stateDir: path.join(work, 'mounter-state') },
  });
  // Only this placeholder goes: the mounter's prune would take any unused one, other people's on a shared engine too.
  const release = async () => {
    await mounter.unmountAll({ repository });
    if (existsSync(standIn)) await hostMounts.unmountAll(standIn);
    await dockerCli('rmi', tag).catch(() => undefined);
  };
  await release();
  const root = await condorRoot();
  await mkdir(standIn, { recursive: true });
  await hostMounts.bindReadOnly(root, standIn);
  await mounter.mount({ tag, repository });
  return { image: tag, release };
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function retry(what, timeoutMs, attempt) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > until) throw new Error(`${what}: ${error.message}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * A collector, negotiator and schedd in one container from `image`, on 127.0.0.1 with a fresh signing key; writes a
 * pool token for condor@<trustDomain> to `<dir>/pool.token`.
 */
export async function startCentralManager({ image, dir, name, labels, trustDomain }) {
  const port = await freePort();
  await rm(dir, { recursive: true, force: true });
  await writeCentralManagerDir(dir, { port, trustDomain });
  const labelArgs = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await dockerCli(
    ...['run', '-d', '--name', name, ...labelArgs, '--network', 'host', '--init'],
    ...['-e', 'CONDOR_CONFIG=/cm/condor_config', '-v', `${dir}:/cm`, image, '/cm/start.sh'],
  );
  await retry('the collector did not answer', 60_000, () =>
    dockerCli('exec', name, 'condor_status', '-collector', '-af', 'Name'),
  );
  const token = await retry('no pool token', 30_000, async () => {
    const { stdout } = await dockerCli(
      ...['exec', name, 'condor_token_create', '-identity', `condor@${trustDomain}`, '-key', 'POOL'],
    );
    return stdout.trim();
  });
  const tokenFile = path.join(dir, 'pool.token');
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  return { name, dir, collector: `127.0.0.1:${port}`, tokenFile };
}

/**
 * The slot ads' names as the collector holds them, polled every `intervalMs` by one long-lived `condor_status` loop
 * inside the central manager (no exec per poll), and only while `<dir>/poll` exists, so it costs nothing while a
 * benchmark measures idle slots. `until(match, n)` resolves with the time (performance.now()) of the first poll that
 * shows at least n names matching.
 */
export class SlotAdWatch {
  constructor(manager, intervalMs = 150) {
    this.flag = path.join(manager.dir, 'poll');
    const loop = `while :; do if [ -e /cm/poll ]; then condor_status -slots -af Name 2>/dev/null; echo .; fi; sleep ${intervalMs / 1000}; done`;
    this.child = spawn('docker', ['exec', manager.name, 'sh', '-c', loop], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.names = [];
    this.waiters = [];
    let buffer = '';
    let block = [];
    this.child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop();
      for (const line of lines) {
        if (line !== '.') {
          if (line) block.push(line);
          continue;
        }
        this.names = block;
        block = [];
        const at = performance.now();
        this.waiters = this.waiters.filter((w) => !(w.check() && (w.resolve(at), true)));
      }
    });
  }

  count(match) {
    return this.names.filter((name) => match.test(name)).length;
  }

  async polling(on) {
    if (on) await writeFile(this.flag, '');
    else await rm(this.flag, { force: true });
  }

  until(match, n, timeoutMs = 300_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${this.count(match)} of ${n} slot ads matching ${match} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({ check: () => this.count(match) >= n, resolve: (at) => (clearTimeout(timer), resolve(at)) });
    });
  }

  /** Stops the local client; the loop inside ends with the central manager's container. */
  close() {
    this.child.kill();
  }
}
