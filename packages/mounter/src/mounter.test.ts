import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Server, createServer } from 'node:net';
import { ContainerdSnapshots } from './containerd-snapshots.js';
import { EngineRoot } from './engine-root.js';
import { MountOps } from './mount-ops.js';
import { mountAt } from './mountinfo.js';
import { Mounter } from './mounter.js';
import { FORMER_REPOSITORY_LABEL, LABELS, ROOTFS_LABEL, placeholderBuildContext } from './placeholder.js';
import { RepositoryLocator } from './repository.js';
import { FakeContainerd } from './testing/fake-containerd.js';
import { FakeEngine } from './testing/fake-engine.js';
import { FakeHost } from './testing/fake-host.js';

const REPOSITORY = 'cernvm-prod.cern.ch';

async function cernvmRoot(dir: string, version: string): Promise<void> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  await writeFile(path.join(dir, `.installed_cernvm-system-${version}`), '');
}

/** Listens on a unix socket, as containerd would, so the mounter finds it among the defaults. */
async function listenAt(socketPath: string): Promise<Server> {
  await mkdir(path.dirname(socketPath), { recursive: true });
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return server;
}

// Every behaviour holds on both image stores: overlay2 (the layer database) and the containerd image store (the
// layer found through ctr, here for an engine chrooted in a directory of its own, with dockerd's own containerd).
describe.each(['overlay2', 'containerd'] as const)(
  'Mounter against a fake %s engine and a fake mount table',
  (store) => {
    let tmp: string;
    let containerdServer: Server | undefined;
    let host: FakeHost;
    let engine: FakeEngine;
    let mounter: Mounter;
    let paths: { cvmfsDir: string; mountBase: string; cvmfsConfigDir: string; stateDir: string };
    let repo: string;

    beforeEach(async () => {
      tmp = await mkdtemp(path.join(tmpdir(), 'mounter-'));
      paths = {
        cvmfsDir: path.join(tmp, 'cvmfs'),
        mountBase: path.join(tmp, 'mnt'),
        cvmfsConfigDir: path.join(tmp, 'etc-cvmfs'),
        stateDir: path.join(tmp, 'state'),
      };
      repo = path.join(paths.cvmfsDir, REPOSITORY);
      await cernvmRoot(path.join(repo, 'cvm4'), '4.7.1.0');
      await cernvmRoot(path.join(repo, 'cvm3'), '3.6.5.0');
      await cernvmRoot(path.join(repo, '.cvmfs', 'snapshots', 'cernvm-system-4.6.0.0', 'cvm4'), '4.6.0.0');
      host = new FakeHost();
      const mounts = new MountOps(host);
      const repositories = new RepositoryLocator(mounts, paths);
      if (store === 'overlay2') {
        await mkdir(path.join(tmp, 'docker'));
        engine = new FakeEngine(path.join(tmp, 'docker'));
        mounter = new Mounter({ docker: engine, mounts, repositories });
      } else {
        const engineRoot = path.join(tmp, 'engine');
        await mkdir(path.join(engineRoot, 'var', 'lib', 'docker'), { recursive: true });
        // As in a Debian root: /var/run is an absolute link to /run, which must resolve inside the engine's root.
        await symlink('/run', path.join(engineRoot, 'var', 'run'));
        const socket = path.join(engineRoot, 'run', 'docker', 'containerd', 'containerd.sock');
        containerdServer = await listenAt(socket);
        host.containerd = new FakeContainerd(socket, engineRoot);
        engine = new FakeEngine('/var/lib/docker', host.containerd);
        mounter = new Mounter({
          docker: engine,
          mounts,
          repositories,
          containerd: new ContainerdSnapshots(host),
          engineRoot: new EngineRoot(engineRoot),
        });
      }
    });
    afterEach(async () => {
      if (containerdServer) await new Promise((resolve) => containerdServer?.close(resolve));
      containerdServer = undefined;
      await rm(tmp, { recursive: true, force: true });
    });

    const hostChanges = () => host.calls.filter((c) => c.startsWith('mount') || c.startsWith('umount'));

    if (store === 'containerd') {
      it('finds the layer through a temporary view of the chain id, removed right after, and binds over it', async () => {
        const result = await mounter.mount({ tag: 'cernvm:4' });
        const chain = engine.byTag('cernvm:4')!.layers[0]!;
        const snapshot = host.containerd!.snapshots.get(chain)!;
        expect(result.layerDir).toBe(path.join(tmp, 'engine', snapshot));
        expect(result.layerDir).toMatch(/\/io\.containerd\.snapshotter\.v1\.overlayfs\/snapshots\/\d+\/fs$/);
        expect(mountAt(host.table, result.layerDir)?.options).toEqual(['ro']);
        const views = host.containerd!.calls.filter((c) => c.includes(' view '));
        expect(views.length).toBeGreaterThan(0);
        expect(
          views.every((c) => c.includes(`-n moby snapshots --snapshotter overlayfs view --mounts docker-cernvm-view-`)),
        ).toBe(true);
        expect(host.containerd!.views.size).toBe(0);
        const report = await mounter.status();
        expect(report.storage).toMatchObject({
          store: 'containerd',
          driver: 'overlayfs',
          containerdAddress: path.join(tmp, 'engine', 'run', 'docker', 'containerd', 'containerd.sock'),
          engineRoot: path.join(tmp, 'engine'),
        });
      });

      it('removes the temporary view when containerd answers with something it cannot bind over', async () => {
        host.containerd!.viewOutput = () =>
          JSON.stringify([{ Type: 'bind', Source: '/var/lib/elsewhere/fs', Options: ['ro'] }]);
        await expect(mounter.mount({ tag: 'cernvm:4' })).rejects.toMatchObject({ code: 'E_LAYER_MISMATCH' });
        expect(host.containerd!.views.size).toBe(0);
        expect(hostChanges()).toEqual([]);
        expect(engine.byTag('cernvm:4')).toBeUndefined();
      });

      it('without a containerd socket, refuses before mounting anything, saying what to pass', async () => {
        await new Promise((resolve) => containerdServer?.close(resolve));
        containerdServer = undefined;
        const engineRoot = path.join(tmp, 'engine');
        await expect(mounter.mount({ tag: 'cernvm:4' })).rejects.toMatchObject({
          code: 'E_NO_CONTAINERD',
          message: expect.stringContaining(
            `looked for ${engineRoot}/var/run/docker/containerd/containerd.sock, ${engineRoot}/run/containerd/containerd.sock): ` +
              'pass --containerd-socket',
          ),
        });
        expect(host.calls).toEqual([]);
        expect(engine.calls).not.toContain('build cernvm:4');
      });

      it('uses the socket the engine names (API 1.46 and later), inside its root', async () => {
        engine.info = { ...engine.info, containerdAddress: '/run/elsewhere.sock' };
        await expect(mounter.status()).rejects.toMatchObject({
          code: 'E_NO_CONTAINERD',
          message: expect.stringContaining(`looked for ${path.join(tmp, 'engine', 'run', 'elsewhere.sock')}`),
        });
      });

      it('says what to install when ctr is missing, and changes nothing', async () => {
        const containerd = host.containerd;
        await mounter.register({ tag: 'cernvm:4', repository: REPOSITORY });
        host.containerd = undefined;
        await expect(mounter.mount({ tag: 'cernvm:4' })).rejects.toMatchObject({
          code: 'E_NO_CONTAINERD',
          message: expect.stringContaining('apt-get install containerd'),
        });
        expect(hostChanges()).toEqual([]);
        host.containerd = containerd;
      });
    }

    describe('mount', () => {
      it('registers a missing placeholder and binds the root read-only over its layer', async () => {
        const result = await mounter.mount({ tag: 'cernvm:4' });
        expect(result).toMatchObject({
          action: 'mounted',
          version: 'cernvm-system-4.7.1.0',
          pair: { repository: REPOSITORY },
        });
        expect(result.rootDir).toBe(path.join(repo, 'cvm4'));
        expect(engine.calls).toContain('build cernvm:4');
        expect(hostChanges()).toEqual([
          `mount --bind ${result.rootDir} ${result.layerDir}`,
          `mount -o remount,bind,ro ${result.layerDir}`,
        ]);
        expect(mountAt(host.table, result.layerDir)?.options).toEqual(['ro']);
      });

      it('does nothing when the same root is bound already', async () => {
        await mounter.mount({ tag: 'cernvm:4' });
        host.calls.length = 0;
        await expect(mounter.mount({ tag: 'cernvm:4' })).resolves.toMatchObject({ action: 'unchanged' });
        expect(hostChanges()).toEqual([]);
      });

      it('makes a writable bind of the same root read-only', async () => {
        const { layerDir, rootDir } = await mounter.mount({ tag: 'cernvm:4' });
        await host.run('umount', [layerDir]);
        await host.run('mount', ['--bind', rootDir, layerDir]);
        host.calls.length = 0;
        await expect(mounter.mount({ tag: 'cernvm:4' })).resolves.toMatchObject({ action: 'made-read-only' });
        expect(hostChanges()).toEqual([`mount -o remount,bind,ro ${layerDir}`]);
      });

      it('remounts another root when no container uses the layer', async () => {
        const { layerDir } = await mounter.mount({ tag: 'cernvm:4' });
        host.calls.length = 0;
        const result = await mounter.mount({ tag: 'cernvm:4', root: 'cvm3' });
        expect(result).toMatchObject({ action: 'remounted', version: 'cernvm-system-3.6.5.0' });
        expect(hostChanges()[0]).toBe(`umount ${layerDir}`);
        expect(host.table.filter((e) => e.mountPoint === layerDir)).toHaveLength(1);
      });

      it('refuses another root while containers use the layer, naming them, and changes nothing', async () => {
        const { imageId } = await mounter.mount({ tag: 'cernvm:4' });
        engine.users.set(imageId, [{ id: 'c1', name: 'slot-3', state: 'running' }]);
        const before = host.table;
        host.calls.length = 0;
        await expect(mounter.mount({ tag: 'cernvm:4', root: 'cvm3' })).rejects.toMatchObject({
          code: 'E_MOUNT_BUSY',
          message: expect.stringContaining('slot-3 (running)'),
        });
        expect(hostChanges()).toEqual([]);
        expect(host.table).toEqual(before);
      });

      it('mounts a snapshot from the virtual snapshot directory beside the current root', async () => {
        const current = await mounter.mount({ tag: 'cernvm:current' });
        const pinned = await mounter.mount({ tag: 'cernvm:4.6', snapshot: 'cernvm-system-4.6.0.0' });
        expect(pinned.layerDir).not.toBe(current.layerDir);
        expect(pinned.rootDir).toBe(path.join(repo, '.cvmfs', 'snapshots', 'cernvm-system-4.6.0.0', 'cvm4'));
        expect(pinned.version).toBe('cernvm-system-4.6.0.0');
        expect(mountAt(host.table, current.layerDir)).toBeDefined();
      });

      it('refuses a snapshot the repository does not publish, listing what it has', async () => {
        await expect(mounter.mount({ tag: 'cernvm:x', snapshot: 'nope' })).rejects.toMatchObject({
          code: 'E_NO_SNAPSHOT',
          message: expect.stringContaining('cernvm-system-4.6.0.0'),
        });
        expect(hostChanges()).toEqual([]);
      });

      it('refuses a placeholder registered for another pair', async () => {
        await mounter.register({ tag: 'cernvm:4', repository: REPOSITORY });
        await expect(mounter.mount({ tag: 'cernvm:4', snapshot: 'cernvm-system-4.6.0.0' })).rejects.toMatchObject({
          code: 'E_PAIR_MISMATCH',
        });
        expect(hostChanges()).toEqual([]);
      });

      it('refuses an image that is not a placeholder', async () => {
        engine.addForeignImage('busybox:latest');
        await expect(mounter.mount({ tag: 'busybox' })).rejects.toMatchObject({ code: 'E_NOT_PLACEHOLDER' });
        expect(hostChanges()).toEqual([]);
      });

      it.each([
        [{ tag: '../x' }],
        [{ tag: 'cernvm:4', repository: 'a b' }],
        [{ tag: 'cernvm:4', snapshot: ';rm' }],
        [{ tag: 'cernvm:4', root: '../../etc' }],
        [{ tag: 'cernvm:4', repository: '' }],
      ])('refuses bad names before touching the engine or the host: %j', async (request) => {
        await expect(mounter.mount(request)).rejects.toMatchObject({ code: 'E_BAD_NAME' });
        expect(engine.calls).toEqual([]);
        expect(host.calls).toEqual([]);
      });

      it('refuses a root that leads outside the repository through a symlink', async () => {
        await mkdir(path.join(tmp, 'outside'));
        await symlink(path.join(tmp, 'outside'), path.join(repo, 'evil'));
        await expect(mounter.mount({ tag: 'cernvm:4', root: 'evil' })).rejects.toMatchObject({
          code: 'E_NO_CERNVM_ROOT',
        });
        expect(hostChanges()).toEqual([]);
      });

      it('mounts the repository with mount -t cvmfs when the client does not show it', async () => {
        await rm(repo, { recursive: true });
        const staticDir = path.join(paths.mountBase, `static_cernvm_${REPOSITORY}`);
        await cernvmRoot(path.join(staticDir, 'cvm4'), '4.7.1.0'); // what the client would show once mounted
        const result = await mounter.mount({ tag: 'cernvm:4' });
        expect(hostChanges()[0]).toBe(`mount -t cvmfs ${REPOSITORY} ${staticDir}`);
        expect(result.rootDir).toBe(path.join(staticDir, 'cvm4'));
        expect(mountAt(host.table, staticDir)?.fsType).toBe('fuse');
      });

      it('pins a snapshot with a private cvmfs2 mount when there is no snapshot directory', async () => {
        await rm(path.join(repo, '.cvmfs'), { recursive: true });
        await mkdir(path.join(paths.cvmfsConfigDir, 'config.d'), { recursive: true });
        await writeFile(path.join(paths.cvmfsConfigDir, 'default.conf'), 'CVMFS_HTTP_PROXY=DIRECT\n');
        await writeFile(
          path.join(paths.cvmfsConfigDir, 'config.d', `${REPOSITORY}.local`),
          'CVMFS_CLAIM_OWNERSHIP=no\n',
        );
        const pinnedDir = path.join(paths.mountBase, `static_cernvm_${REPOSITORY}@v46`);
        await cernvmRoot(path.join(pinnedDir, 'cvm4'), '4.6.0.0');
        const result = await mounter.mount({ tag: 'cernvm:v46', snapshot: 'v46' });
        expect(result.rootDir).toBe(path.join(pinnedDir, 'cvm4'));
        const privateConf = path.join(paths.stateDir, 'cvmfs', `${REPOSITORY}@v46`, 'client.conf');
        const chain = [
          path.join(paths.cvmfsConfigDir, 'default.conf'),
          path.join(paths.cvmfsConfigDir, 'config.d', `${REPOSITORY}.local`),
          privateConf,
        ];
        expect(host.calls).toContain(`cvmfs2 -o config=${chain.join(':')},allow_other ${REPOSITORY} ${pinnedDir}`);
        const conf = await readFile(privateConf, 'utf8');
        expect(conf).toContain('CVMFS_REPOSITORY_TAG=v46');
        expect(conf).toMatch(/CVMFS_CACHE_BASE=.*v46/);
      });

      it('takes back the repository mount it made when a later step fails', async () => {
        await rm(repo, { recursive: true });
        const staticDir = path.join(paths.mountBase, `static_cernvm_${REPOSITORY}`);
        await cernvmRoot(path.join(staticDir, 'cvm4'), '4.7.1.0');
        await expect(mounter.mount({ tag: 'cernvm:4', root: 'cvm9' })).rejects.toMatchObject({
          code: 'E_NO_CERNVM_ROOT',
          message: expect.stringContaining('cvm4'),
        });
        expect(mountAt(host.table, staticDir)).toBeUndefined();
      });

      it('removes the mount point it created when the repository mount fails', async () => {
        await rm(repo, { recursive: true });
        host.failWhen = (command, args) => command === 'mount' && args[0] === '-t';
        await expect(mounter.mount({ tag: 'cernvm:4' })).rejects.toMatchObject({ code: 'E_NO_REPOSITORY' });
        await expect(readdir(paths.mountBase)).rejects.toMatchObject({ code: 'ENOENT' });
      });

      it('removes the placeholder it registered when the mount fails', async () => {
        await expect(mounter.mount({ tag: 'cernvm:new', root: 'cvm9' })).rejects.toMatchObject({
          code: 'E_NO_CERNVM_ROOT',
        });
        expect(engine.byTag('cernvm:new')).toBeUndefined();
        expect(engine.images.size).toBe(0);
      });

      it('takes back the bind when making it read-only fails', async () => {
        host.failWhen = (command, args) => command === 'mount' && args[1] === 'remount,bind,ro';
        await expect(mounter.mount({ tag: 'cernvm:4' })).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
        expect(host.table.filter((e) => e.mountPoint.includes('overlay2'))).toEqual([]);
      });
    });

    // For an engine that runs a container from a root directory (podman's rootfs): no placeholder, no bind.
    describe('resolveRoot', () => {
      it("gives the repository's current cvm4 as a directory, with its version, and asks the engine nothing", async () => {
        const found = await mounter.resolveRoot();
        expect(found).toEqual({
          pair: { repository: REPOSITORY },
          rootDir: path.join(repo, 'cvm4'),
          version: 'cernvm-system-4.7.1.0',
        });
        expect(engine.calls).toEqual([]);
        expect(hostChanges()).toEqual([]);
      });

      it('resolves a snapshot and another root the way mount does', async () => {
        const pinned = await mounter.resolveRoot({ snapshot: 'cernvm-system-4.6.0.0' });
        expect(pinned.rootDir).toBe(path.join(repo, '.cvmfs', 'snapshots', 'cernvm-system-4.6.0.0', 'cvm4'));
        expect(pinned.version).toBe('cernvm-system-4.6.0.0');
        expect((await mounter.resolveRoot({ root: 'cvm3' })).version).toBe('cernvm-system-3.6.5.0');
      });

      it('lists the snapshots the repository publishes, oldest first by version, asking the engine nothing', async () => {
        await mkdir(path.join(repo, '.cvmfs', 'snapshots', 'cernvm-system-4.10.0.0'));
        expect(await mounter.publishedSnapshots()).toEqual(['cernvm-system-4.6.0.0', 'cernvm-system-4.10.0.0']);
        expect(engine.calls).toEqual([]);
        expect(hostChanges()).toEqual([]);
        await expect(mounter.publishedSnapshots('a b')).rejects.toMatchObject({ code: 'E_BAD_NAME' });
      });

      it.each([[{ repository: 'a b' }], [{ snapshot: ';rm' }], [{ root: '../../etc' }], [{ repository: '' }]])(
        'refuses bad names before touching the host: %j',
        async (request) => {
          await expect(mounter.resolveRoot(request)).rejects.toMatchObject({ code: 'E_BAD_NAME' });
          expect(host.calls).toEqual([]);
        },
      );

      it('refuses an unpublished snapshot and a root leading outside the repository, changing nothing', async () => {
        await expect(mounter.resolveRoot({ snapshot: 'nope' })).rejects.toMatchObject({ code: 'E_NO_SNAPSHOT' });
        await mkdir(path.join(tmp, 'outside'));
        await symlink(path.join(tmp, 'outside'), path.join(repo, 'evil'));
        await expect(mounter.resolveRoot({ root: 'evil' })).rejects.toMatchObject({ code: 'E_NO_CERNVM_ROOT' });
        expect(hostChanges()).toEqual([]);
      });

      it('status on podman names the roots slots run from, by their label, their version and containers', async () => {
        engine.kind = 'podman';
        const current = path.join(repo, 'cvm4');
        const pinned = path.join(repo, '.cvmfs', 'snapshots', 'cernvm-system-4.6.0.0', 'cvm4');
        const slot = (name: string, rootDir: string) => ({
          id: name,
          name,
          state: 'running',
          labels: { [ROOTFS_LABEL]: rootDir, 'org.docker-cernvm.slot': '0' },
        });
        engine.labelled.push(slot('f-slot-1', pinned), slot('f-slot-0', current), slot('f-slot-2', current));
        const report = await mounter.status();
        expect(report).toMatchObject({ storage: { store: 'rootfs', engine: 'podman' }, placeholders: [] });
        expect(report.roots).toEqual([
          {
            rootDir: pinned,
            version: 'cernvm-system-4.6.0.0',
            disconnected: false,
            containers: [{ id: 'f-slot-1', name: 'f-slot-1', state: 'running' }],
          },
          {
            rootDir: current,
            version: 'cernvm-system-4.7.1.0',
            disconnected: false,
            containers: [
              { id: 'f-slot-0', name: 'f-slot-0', state: 'running' },
              { id: 'f-slot-2', name: 'f-slot-2', state: 'running' },
            ],
          },
        ]);
        expect(engine.calls).not.toContain('info');
      });
    });

    // Podman's slots run from roots, so the commands about placeholders have nothing of theirs to act on.
    describe('on podman', () => {
      const slot = (name: string, rootDir: string) => ({
        id: name,
        name,
        state: 'exited',
        labels: { [ROOTFS_LABEL]: rootDir },
      });
      beforeEach(() => {
        engine.kind = 'podman';
      });

      it('refuses register, mount and unmount of a tag, saying how podman names its root, changing nothing', async () => {
        for (const attempt of [
          mounter.register({ tag: 'cernvm:4' }),
          mounter.mount({ tag: 'cernvm:4' }),
          mounter.unmountImage('cernvm:4'),
        ]) {
          await expect(attempt).rejects.toMatchObject({
            code: 'E_UNSUPPORTED_STORAGE',
            message: expect.stringContaining('podman runs slots from the CernVM root itself'),
          });
        }
        expect(hostChanges()).toEqual([]);
        expect(engine.calls.filter((c) => c.startsWith('build'))).toEqual([]);
      });

      it('prunes nothing', async () => {
        expect(await mounter.prune()).toEqual({ removed: [], failed: [], kept: 0 });
        expect(engine.calls).not.toContain('info');
      });

      it('marks the snapshots slots run from, the current state included', async () => {
        const pinned = path.join(repo, '.cvmfs', 'snapshots', 'cernvm-system-4.6.0.0', 'cvm4');
        engine.labelled.push(slot('f-slot-0', pinned), slot('f-slot-1', path.join(repo, 'cvm4')));
        engine.labelled.push(slot('other', path.join(paths.cvmfsDir, 'cernvm-sl7.cern.ch', 'cvm3')));
        const report = await mounter.snapshots(REPOSITORY);
        expect(report.available).toEqual(['cernvm-system-4.6.0.0']);
        expect(report.mounted).toEqual([
          { tags: [], snapshot: 'cernvm-system-4.6.0.0', version: 'cernvm-system-4.6.0.0' },
          { tags: [], snapshot: undefined, version: 'cernvm-system-4.7.1.0' },
        ]);
      });

      it('unmounts the repositories it mounted, refusing while a slot, even stopped, runs from them', async () => {
        await rm(repo, { recursive: true });
        const staticDir = path.join(paths.mountBase, `static_cernvm_${REPOSITORY}`);
        await cernvmRoot(path.join(staticDir, 'cvm4'), '4.7.1.0');
        const { rootDir } = await mounter.resolveRoot();
        engine.labelled.push(slot('f-slot-0', rootDir));
        const before = host.table;
        await expect(mounter.unmountAll()).rejects.toMatchObject({
          code: 'E_MOUNT_BUSY',
          message: expect.stringContaining('f-slot-0 (exited)'),
        });
        expect(host.table).toEqual(before);
        engine.labelled.pop();
        expect(await mounter.unmountAll()).toEqual({ unboundLayers: [], unmountedRepositories: [staticDir] });
        expect(host.table.map((e) => e.mountPoint)).toEqual(['/']);
      });
    });

    describe('describeImage', () => {
      it('tells a missing tag, an ordinary image and a placeholder apart, with what is bound over the placeholder', async () => {
        engine.addForeignImage('busybox:latest');
        await mounter.register({ tag: 'cernvm:empty', repository: REPOSITORY, snapshot: 'cernvm-system-4.6.0.0' }); // another pair: its own layer
        const mounted = await mounter.mount({ tag: 'cernvm:4' });
        expect(await mounter.describeImage('nothing:here')).toEqual({ kind: 'missing' });
        expect(await mounter.describeImage('busybox')).toEqual({ kind: 'ordinary' });
        expect(await mounter.describeImage('cernvm:empty')).toMatchObject({
          kind: 'placeholder',
          placeholder: { bound: undefined, version: undefined },
        });
        expect(await mounter.describeImage('cernvm:4')).toMatchObject({
          kind: 'placeholder',
          placeholder: { layerDir: mounted.layerDir, bound: { source: mounted.rootDir, readOnly: true } },
        });
        // inspectPlaceholder is the same answer, undefined for both kinds that are not placeholders.
        expect(await mounter.inspectPlaceholder('busybox')).toBeUndefined();
        expect(await mounter.inspectPlaceholder('nothing:here')).toBeUndefined();
        expect(await mounter.inspectPlaceholder('cernvm:4')).toMatchObject({ layerDir: mounted.layerDir });
      });

      it('refuses a bad name before asking the engine', async () => {
        await expect(mounter.describeImage('../x')).rejects.toMatchObject({ code: 'E_BAD_NAME' });
        expect(engine.calls).toEqual([]);
      });
    });

    describe('images that share a layer or build on a placeholder', () => {
      it('a failed mount of a new tag removes only that tag, not the image another tag shares', async () => {
        const a = await mounter.mount({ tag: 'cernvm:a' });
        await expect(mounter.mount({ tag: 'cernvm:b', root: 'cvm9' })).rejects.toMatchObject({
          code: 'E_NO_CERNVM_ROOT',
        });
        expect(engine.byTag('cernvm:b')).toBeUndefined();
        expect(engine.byTag('cernvm:a')?.id).toBe(a.imageId);
        expect(mountAt(host.table, a.layerDir)).toBeDefined();
      });

      it('counts containers of every image sharing the layer before remounting it', async () => {
        engine.noCache = true;
        const a = await mounter.mount({ tag: 'cernvm:a' });
        const b = await mounter.register({ tag: 'cernvm:b', repository: REPOSITORY });
        expect(b.imageId).not.toBe(a.imageId);
        engine.users.set(a.imageId, [{ id: 'c', name: 'slot-9', state: 'running' }]);
        await expect(mounter.mount({ tag: 'cernvm:b', root: 'cvm3' })).rejects.toMatchObject({
          code: 'E_MOUNT_BUSY',
          message: expect.stringContaining('slot-9'),
        });
      });

      it('does not take an image built FROM a placeholder for one', async () => {
        const a = await mounter.register({ tag: 'cernvm:a', repository: REPOSITORY });
        const base = engine.byTag('cernvm:a')!;
        engine.images.set('sha256:child', {
          ...base,
          id: 'sha256:child',
          tags: ['site/app:1'],
          layers: [...base.layers, 'sha256:x'],
        });
        await expect(mounter.mount({ tag: 'site/app:1' })).rejects.toMatchObject({ code: 'E_NOT_PLACEHOLDER' });
        const pruned = await mounter.prune();
        expect(pruned.removed.map((r) => r.imageId)).toEqual([a.imageId]);
        expect(engine.images.has('sha256:child')).toBe(true);
      });
    });

    it('ignores mounts under the mount base whose names are not ours', () => {
      const repositories = new RepositoryLocator(new MountOps(host), paths);
      for (const name of [
        'static_cernvm_x',
        `static_cernvm_${REPOSITORY}@a@b`,
        `static_cernvm_${REPOSITORY}@;rm`,
        `static_cernvm_${REPOSITORY}@x/sub`,
      ]) {
        host.add({
          device: '0:9',
          root: '/',
          mountPoint: path.join(paths.mountBase, name),
          options: ['ro'],
          fsType: 'fuse',
          source: 'x',
        });
      }
      host.add({
        device: '0:9',
        root: '/',
        mountPoint: path.join(paths.mountBase, `static_cernvm_${REPOSITORY}@v1`),
        options: ['ro'],
        fsType: 'fuse',
        source: 'x',
      });
      expect(repositories.repositoryMounts(host.table).map((r) => [r.repository, r.snapshot])).toEqual([
        [REPOSITORY, 'v1'],
      ]);
    });

    it.each(['relative/dir', '/a,b', '/a:b', '/a b', '/x/../y', '/$HOME'])('refuses directory option %j', (dir) => {
      expect(() => new RepositoryLocator(new MountOps(host), { ...paths, stateDir: dir })).toThrow(
        expect.objectContaining({ code: 'E_BAD_OPTION' }),
      );
    });

    describe('register', () => {
      it('is idempotent for the same pair', async () => {
        const first = await mounter.register({ tag: 'cernvm:4', repository: REPOSITORY });
        const second = await mounter.register({ tag: 'cernvm:4', repository: REPOSITORY });
        expect(second).toEqual({ ...first, created: false });
        expect(engine.calls.filter((c) => c.startsWith('build'))).toHaveLength(1);
      });

      it('keeps a placeholder registered under the former repository label, and mounts it', async () => {
        const pair = { repository: REPOSITORY, snapshot: 'cernvm-system-4.6.0.0' };
        const earlier = {
          [LABELS.placeholder]: '1',
          [FORMER_REPOSITORY_LABEL]: REPOSITORY,
          [LABELS.snapshot]: pair.snapshot,
        };
        const imageId = await engine.buildImage(await placeholderBuildContext(pair), 'cernvm:old', earlier);
        await expect(mounter.register({ tag: 'cernvm:old', ...pair })).resolves.toEqual({
          imageId,
          tag: 'cernvm:old',
          pair,
          created: false,
        });
        await expect(mounter.mount({ tag: 'cernvm:old' })).resolves.toMatchObject({ imageId, pair, action: 'mounted' });
        expect(engine.calls.filter((c) => c.startsWith('build'))).toEqual(['build cernvm:old']);
      });

      it('gives each (repository, snapshot) pair its own layer', async () => {
        const a = await mounter.register({ tag: 'cernvm:a', repository: REPOSITORY });
        const b = await mounter.register({
          tag: 'cernvm:b',
          repository: REPOSITORY,
          snapshot: 'cernvm-system-4.6.0.0',
        });
        expect(engine.byTag('cernvm:a')?.layers).not.toEqual(engine.byTag('cernvm:b')?.layers);
        expect(a.imageId).not.toBe(b.imageId);
      });

      it('moves an unused tag to a new pair and removes the old placeholder', async () => {
        const old = await mounter.register({ tag: 'cernvm:4', repository: REPOSITORY });
        await mounter.register({ tag: 'cernvm:4', repository: REPOSITORY, snapshot: 'cernvm-system-4.6.0.0' });
        expect(engine.calls).toContain(`rmi ${old.imageId}`);
      });

      it('refuses to move a mounted tag to another pair', async () => {
        await mounter.mount({ tag: 'cernvm:4' });
        await expect(
          mounter.register({ tag: 'cernvm:4', repository: REPOSITORY, snapshot: 'cernvm-system-4.6.0.0' }),
        ).rejects.toMatchObject({ code: 'E_TAG_IN_USE' });
      });

      it('refuses to overwrite an image that is not a placeholder', async () => {
        engine.addForeignImage('site/app:1');
        await expect(mounter.register({ tag: 'site/app:1' })).rejects.toMatchObject({ code: 'E_NOT_PLACEHOLDER' });
      });
    });

    describe('unmountAll', () => {
      it('refuses while containers use a root, naming them, and unmounts nothing', async () => {
        const a = await mounter.mount({ tag: 'cernvm:a' });
        await mounter.mount({ tag: 'cernvm:b', snapshot: 'cernvm-system-4.6.0.0' });
        engine.users.set(a.imageId, [{ id: 'c', name: 'job-7', state: 'exited' }]);
        const before = host.table;
        await expect(mounter.unmountAll()).rejects.toMatchObject({
          code: 'E_MOUNT_BUSY',
          message: expect.stringContaining('job-7 (exited)'),
        });
        expect(host.table).toEqual(before);
      });

      it('unbinds every placeholder, then the repository mounts of ours', async () => {
        await rm(repo, { recursive: true });
        const staticDir = path.join(paths.mountBase, `static_cernvm_${REPOSITORY}`);
        await cernvmRoot(path.join(staticDir, 'cvm4'), '4.7.1.0');
        const { layerDir } = await mounter.mount({ tag: 'cernvm:4' });
        const result = await mounter.unmountAll();
        expect(result).toEqual({ unboundLayers: [layerDir], unmountedRepositories: [staticDir] });
        expect(host.table.map((e) => e.mountPoint)).toEqual(['/']);
      });

      it('with a repository leaves the other repositories alone', async () => {
        const other = path.join(paths.cvmfsDir, 'cernvm-sl7.cern.ch');
        await cernvmRoot(path.join(other, 'cvm3'), '3.1.0.0');
        const prod = await mounter.mount({ tag: 'cernvm:4' });
        const sl7 = await mounter.mount({ tag: 'cernvm:sl7', repository: 'cernvm-sl7.cern.ch', root: 'cvm3' });
        await mounter.unmountAll({ repository: 'cernvm-sl7.cern.ch' });
        expect(mountAt(host.table, sl7.layerDir)).toBeUndefined();
        expect(mountAt(host.table, prod.layerDir)).toBeDefined();
      });

      it('also unbinds a layer whose placeholder was removed, and everything stacked there', async () => {
        const { imageId, layerDir, rootDir } = await mounter.mount({ tag: 'cernvm:4' });
        await host.run('mount', ['--bind', rootDir, layerDir]);
        await engine.removeImage(imageId);
        expect((await mounter.status()).orphanBinds.map((o) => o.layerDir)).toEqual([layerDir]);
        await mounter.unmountAll();
        expect(mountAt(host.table, layerDir)).toBeUndefined();
      });
    });

    describe('unmountImage', () => {
      it('unbinds only that image, even while another snapshot of the repository is in use', async () => {
        const old = await mounter.mount({ tag: 'cernvm:a', snapshot: 'cernvm-system-4.6.0.0' });
        const current = await mounter.mount({ tag: 'cernvm:b' });
        engine.users.set(current.imageId, [{ id: 'c', name: 'slot-0', state: 'running' }]);
        const before = host.table.length;
        const result = await mounter.unmountImage('cernvm:a');
        expect(result).toEqual({ unboundLayers: [old.layerDir], unmountedRepositories: [] });
        expect(mountAt(host.table, old.layerDir)).toBeUndefined();
        expect(mountAt(host.table, current.layerDir)).toBeDefined();
        expect(host.table).toHaveLength(before - 1);
      });

      it('refuses while that image is in use, and names an unknown tag or one of another repository', async () => {
        const old = await mounter.mount({ tag: 'cernvm:a' });
        engine.users.set(old.imageId, [{ id: 'c', name: 'slot-3', state: 'running' }]);
        await expect(mounter.unmountImage('cernvm:a')).rejects.toMatchObject({
          code: 'E_MOUNT_BUSY',
          message: expect.stringContaining('slot-3'),
        });
        expect(mountAt(host.table, old.layerDir)).toBeDefined();
        await expect(mounter.unmountImage('cernvm:nope')).rejects.toMatchObject({
          code: 'E_NO_IMAGE',
          message: 'no docker-cernvm placeholder is tagged cernvm:nope',
        });
        engine.users.clear();
        await expect(mounter.unmountImage('cernvm:a', { repository: 'cernvm-sl7.cern.ch' })).rejects.toMatchObject({
          code: 'E_NO_IMAGE',
        });
        expect(mountAt(host.table, old.layerDir)).toBeDefined();
      });
    });

    describe('status, snapshots and prune', () => {
      it('reports each placeholder, what is bound there and who uses it', async () => {
        const a = await mounter.mount({ tag: 'cernvm:4' });
        await mounter.register({ tag: 'cernvm:empty', repository: REPOSITORY, snapshot: 'cernvm-system-4.6.0.0' });
        engine.users.set(a.imageId, [{ id: 'c', name: 'slot-0', state: 'running' }]);
        const report = await mounter.status();
        const mounted = report.placeholders.find((p) => p.tags.includes('cernvm:4'));
        expect(mounted).toMatchObject({
          layerDir: a.layerDir,
          bound: { readOnly: true, deleted: false },
          containers: [{ name: 'slot-0' }],
        });
        expect(report.placeholders.find((p) => p.tags.includes('cernvm:empty'))?.bound).toBeUndefined();
        expect(report.storage).toMatchObject({ driver: store === 'overlay2' ? 'overlay2' : 'overlayfs' });
      });

      it('lists published snapshots and the mounted ones', async () => {
        await mounter.mount({ tag: 'cernvm:old', snapshot: 'cernvm-system-4.6.0.0' });
        const report = await mounter.snapshots(REPOSITORY);
        expect(report.available).toEqual(['cernvm-system-4.6.0.0']);
        expect(report.mounted).toEqual([
          { tags: ['cernvm:old'], snapshot: 'cernvm-system-4.6.0.0', version: undefined },
        ]);
      });

      it('prunes only placeholders that are neither bound nor used', async () => {
        await mounter.mount({ tag: 'cernvm:bound' });
        const used = await mounter.register({
          tag: 'cernvm:used',
          repository: REPOSITORY,
          snapshot: 'cernvm-system-4.6.0.0',
        });
        const idle = await mounter.register({ tag: 'cernvm:idle', repository: 'cernvm-sl7.cern.ch' });
        engine.users.set(used.imageId, [{ id: 'c', name: 'x', state: 'created' }]);
        const result = await mounter.prune();
        expect(result).toEqual({ removed: [{ imageId: idle.imageId, tags: ['cernvm:idle'] }], failed: [], kept: 2 });
      });
    });

    it('serves a mount table that parses back to itself', async () => {
      host.add({
        device: '8:1',
        root: '/a b',
        mountPoint: '/x y',
        options: ['ro'],
        fsType: 'ext4',
        source: '/dev/vda',
      });
      expect(await host.parsed()).toEqual(host.table);
    });
  },
);
