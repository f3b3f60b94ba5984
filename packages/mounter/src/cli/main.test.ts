import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MountOps } from '../mount-ops.js';
import { Mounter } from '../mounter.js';
import { RepositoryLocator } from '../repository.js';
import { FakeEngine } from '../testing/fake-engine.js';
import { ROOTFS_LABEL } from '../placeholder.js';
import { FakeHost } from '../testing/fake-host.js';
import { EngineRoot } from '../engine-root.js';
import { formatStatus } from './commands/status.js';
import { type CliContext, type MounterSettings } from './context.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '@docker-cernvm/cli-kit';
import { consoleLogOf, versionIn } from '@docker-cernvm/cli-kit/testing';
import { runCli } from './main.js';

describe('docker-cernvm command line', () => {
  let tmp: string;
  let host: FakeHost;
  let engine: FakeEngine;
  let out: string;
  let err: string;
  let context: CliContext;
  let settingsSeen: MounterSettings | undefined;

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'cli-'));
    await mkdir(path.join(tmp, 'cvmfs', 'cernvm-prod.cern.ch', 'cvm4', 'bin'), { recursive: true });
    await writeFile(path.join(tmp, 'cvmfs', 'cernvm-prod.cern.ch', 'cvm4', '.installed_cernvm-system-4.7.1.0'), '');
    await mkdir(path.join(tmp, 'docker'));
    host = new FakeHost();
    engine = new FakeEngine(path.join(tmp, 'docker'));
    out = '';
    err = '';
    context = {
      io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t) },
      createMounter: (settings) => {
        settingsSeen = settings;
        const mounts = new MountOps(host, { cvmfs2Command: settings.cvmfs2Command });
        return new Mounter({
          engineRoot: new EngineRoot(settings.engineRoot),
          docker: engine,
          mounts,
          repositories: new RepositoryLocator(mounts, settings.paths),
          reporter: settings.reporter,
        });
      },
    };
  });
  afterEach(() => rm(tmp, { recursive: true, force: true }));

  const run = (...args: string[]) => runCli(['--cvmfs-dir', path.join(tmp, 'cvmfs'), ...args], context);

  it('prints the package’s version for --version and exits 0', async () => {
    const version = await versionIn(new URL('../../package.json', import.meta.url));
    expect(await consoleLogOf(() => runCli(['--version'], context))).toEqual({ result: EXIT_OK, printed: [version] });
    expect({ out, err }).toEqual({ out: '', err: '' });
  });

  it('mounts, printing each step on stderr and the snapshot in use on stdout', async () => {
    await expect(run('mount', '--tag', 'cernvm:4')).resolves.toBe(EXIT_OK);
    expect(err).toContain('Mounting main CernVM repository cernvm-prod.cern.ch …ok');
    expect(out).toBe('CernVM snapshot in use: cernvm-system-4.7.1.0\n');
  });

  it('prints the image id on register and JSON with --json', async () => {
    await expect(run('register', '--tag', 'cernvm:4')).resolves.toBe(EXIT_OK);
    expect(out).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    out = '';
    await expect(run('status', '--json')).resolves.toBe(EXIT_OK);
    expect(JSON.parse(out).placeholders[0].pair).toEqual({ repository: 'cernvm-prod.cern.ch' });
  });

  it("takes --branch, the option's former name, as --repository", async () => {
    await expect(run('register', '--tag', 'cernvm:sl7', '--branch', 'cernvm-sl7.cern.ch')).resolves.toBe(EXIT_OK);
    await expect(run('mount', '--tag', 'cernvm:4', '--branch', 'cernvm-prod.cern.ch')).resolves.toBe(EXIT_OK);
    out = '';
    await expect(run('status', '--json')).resolves.toBe(EXIT_OK);
    const pairs = (JSON.parse(out) as { placeholders: Array<{ pair: unknown }> }).placeholders.map((p) => p.pair);
    expect(pairs).toEqual(
      expect.arrayContaining([{ repository: 'cernvm-sl7.cern.ch' }, { repository: 'cernvm-prod.cern.ch' }]),
    );
    const unbound = async (...args: string[]) => {
      out = '';
      await expect(run('unmount-all', '--json', ...args)).resolves.toBe(EXIT_OK);
      return (JSON.parse(out) as { unboundLayers: string[] }).unboundLayers.length;
    };
    await expect(unbound('--branch', 'cernvm-sl7.cern.ch')).resolves.toBe(0);
    await expect(unbound('--branch', 'cernvm-prod.cern.ch')).resolves.toBe(1);
  });

  it('unmount-all --tag unbinds that image only, and fails for a tag of another repository', async () => {
    await expect(run('mount', '--tag', 'cernvm:4')).resolves.toBe(EXIT_OK);
    err = '';
    await expect(run('unmount-all', '--tag', 'cernvm:4', '--repository', 'cernvm-sl7.cern.ch')).resolves.toBe(
      EXIT_FAILURE,
    );
    expect(err).toBe('error: no docker-cernvm placeholder is tagged cernvm:4\n');
    out = '';
    await expect(run('unmount-all', '--json', '--tag', 'cernvm:4')).resolves.toBe(EXIT_OK);
    expect(JSON.parse(out)).toEqual({ unboundLayers: [expect.stringContaining('/diff')], unmountedRepositories: [] });
  });

  it.each([
    [['mount', '--tag', '../x']],
    [['mount', '--tag', 'cernvm:4', '--repository', 'a b']],
    [['mount', '--tag', 'cernvm:4', '--branch', 'a b']],
    [['mount', '--tag', 'cernvm:4', '--snapshot', ';rm']],
    [['mount', '--tag', 'cernvm:4', '--root', '../etc']],
    [['mount', '--tag']],
    [['mount']],
    [['mount', '--tag', 'cernvm:4', '--bogus']],
    [['register', '--tag', 'cernvm:4', '--repository', '']],
    [['unmount-all', '--branch', '../x']],
    [['snapshots', '--repository', '$(id)']],
    [['setup-repo', '--repository', 'x.cern.ch', '--server-url', 'file:///etc/passwd']],
    [['frobnicate']],
    [['--state-dir', '/tmp/a,b', 'status']],
    [['--mount-base', 'mnt', 'unmount-all']],
    [['--engine-root', 'chroot', 'status']],
    [[]],
    // Found by main.property.test.ts: register took an empty --snapshot for "no snapshot", which mount refuses.
    [['register', '--tag', 'cernvm:4', '--snapshot', '']],
    // Found by main.property.test.ts: a string option negated or given sub-keys reached a path check as a boolean
    // or an object (a TypeError, exit 1).
    [['--no-state-dir', 'status']],
    [['mount', '--tag.x', 'cernvm:4']],
    [['mount', '--tag', 'cernvm:4', '--no-root']],
  ])('refuses %j with one line on stderr, exit 2, and changes nothing', async (args) => {
    await expect(run(...args)).resolves.toBe(EXIT_USAGE);
    expect(err).toMatch(/^error: [^\n]+\n$/);
    expect(host.calls).toEqual([]);
    expect(engine.calls.filter((c) => c.startsWith('build') || c.startsWith('rmi'))).toEqual([]);
  });

  it('takes the last of a flag given twice, as the factory does', async () => {
    await expect(run('mount', '--tag', '../x', '--tag', 'cernvm:4', '--root', 'cvm3', '--root', 'cvm4')).resolves.toBe(
      EXIT_OK,
    );
    expect(engine.byTag('cernvm:4')).toBeDefined();
  });

  it('passes --engine-root, --ctr and --containerd-socket to the mounter', async () => {
    await expect(
      run('--engine-root', '/', '--ctr', '/opt/bin/ctr', '--containerd-socket', '/run/c.sock', 'status'),
    ).resolves.toBe(EXIT_OK);
    expect(settingsSeen).toMatchObject({
      engineRoot: '/',
      ctrCommand: '/opt/bin/ctr',
      containerdSocket: '/run/c.sock',
    });
    await run('status');
    expect(settingsSeen).toMatchObject({
      engineRoot: process.env.DOCKER_CERNVM_ENGINE_ROOT || '/',
      ctrCommand: 'ctr',
      containerdSocket: undefined,
    });
  });

  it('status names the containerd image store, its socket and the engine root', () => {
    const text = formatStatus({
      storage: {
        store: 'containerd',
        driver: 'overlayfs',
        dockerRootDir: '/srv/d26/var/lib/docker',
        containerdAddress: '/srv/d26/run/docker/containerd/containerd.sock',
        namespace: 'moby',
        engineRoot: '/srv/d26',
      },
      placeholders: [],
      orphanBinds: [],
      roots: [],
      repositories: [],
    });
    expect(text.split('\n')[0]).toBe(
      'storage: containerd image store (snapshotter overlayfs, namespace moby) through ' +
        '/srv/d26/run/docker/containerd/containerd.sock; engine root /srv/d26',
    );
  });

  it('status says when a bound root’s source is disconnected (its FUSE client died)', () => {
    const text = formatStatus({
      storage: { store: 'graphdriver', driver: 'overlay2', dockerRootDir: '/var/lib/docker' },
      placeholders: [
        {
          imageId: 'sha256:0123456789abcdef',
          tags: ['cernvm:4'],
          pair: { repository: 'cernvm-prod.cern.ch' },
          layerDir: '/var/lib/docker/overlay2/x/diff',
          bound: { source: '/cvmfs/cernvm-prod.cern.ch/cvm4', readOnly: true, deleted: false, disconnected: true },
          version: undefined,
          containers: [],
        },
      ],
      orphanBinds: [],
      roots: [],
      repositories: [],
    });
    expect(text).toContain(
      '  bound       /cvmfs/cernvm-prod.cern.ch/cvm4 (read-only, SOURCE DISCONNECTED: Transport endpoint is not ' +
        'connected, its FUSE client has died)\n',
    );
  });

  it('status on podman names each root slots run from, its version and its containers', () => {
    const text = formatStatus({
      storage: { store: 'rootfs', engine: 'podman' },
      placeholders: [],
      orphanBinds: [],
      roots: [
        {
          rootDir: '/cvmfs/cernvm-prod.cern.ch/cvm4',
          version: 'cernvm-system-4.7.1.0',
          disconnected: false,
          containers: [{ id: 'a', name: 'f-slot-0', state: 'running' }],
        },
        {
          rootDir: '/cvmfs/other/cvm4',
          version: undefined,
          disconnected: true,
          containers: [{ id: 'b', name: 'g-slot-0', state: 'exited' }],
        },
      ],
      repositories: [],
    });
    expect(text).toBe(
      [
        'storage: podman: slots run from CernVM roots themselves (rootfs), no placeholders',
        '',
        'root /cvmfs/cernvm-prod.cern.ch/cvm4',
        '  version     cernvm-system-4.7.1.0',
        '  containers  f-slot-0 (running)',
        '',
        'root /cvmfs/other/cvm4',
        '  SOURCE DISCONNECTED: Transport endpoint is not connected, its FUSE client has died',
        '  version     -',
        '  containers  g-slot-0 (exited)',
        '',
      ].join('\n'),
    );
  });

  it('snapshots on podman marks the repository state slots run from, and mount exits 1 in one line', async () => {
    engine.kind = 'podman';
    const root = path.join(tmp, 'cvmfs', 'cernvm-prod.cern.ch', 'cvm4');
    engine.labelled.push({ id: 'p', name: 'p-slot-0', state: 'running', labels: { [ROOTFS_LABEL]: root } });
    await expect(run('snapshots')).resolves.toBe(EXIT_OK);
    expect(out).toBe('* (current)  slots run from it, cernvm-system-4.7.1.0\n');
    err = '';
    await expect(run('mount', '--tag', 'cernvm:4')).resolves.toBe(EXIT_FAILURE);
    expect(err).toMatch(/^error: podman runs slots from the CernVM root itself, .*cernvm: \{repository/);
    expect(err.trim().split('\n')).toHaveLength(1);
  });

  it('exits 1 when the system refuses, naming the containers', async () => {
    await run('mount', '--tag', 'cernvm:4');
    const image = engine.byTag('cernvm:4')!;
    engine.users.set(image.id, [{ id: 'c', name: 'slot-1', state: 'running' }]);
    err = '';
    await expect(run('umount-all')).resolves.toBe(EXIT_FAILURE);
    expect(err).toBe(
      'error: refusing to unmount, containers use CernVM roots: cernvm:4: slot-1 (running); stop and remove them first\n',
    );
  });
});
