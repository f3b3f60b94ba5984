import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { DetectedRuntime, LABELS } from '@docker-cernvm/factory';
import { type Mounter, type StatusReport, createMounter } from '@docker-cernvm/mounter';
import { pilotContainerOptions } from '@docker-cernvm/pilot';
import { TEST_LABEL, docker, execIn, podmanSuiteRuns } from '../support/engine.js';
import { SquashfuseMount, removeLeftoverSquashfuse, squashImage } from '../support/fuse-repository.js';
import { removeUnmounted } from '../support/condor-image.js';
import { TMP_PREFIX } from '../support/cleanup.js';
import { CONDOR_REPOSITORY, mountCondorRootFuse } from '../support/condor-image.js';
import {
  FactoryProcess,
  controlRequest,
  removeFactoryContainers,
  slotContainers,
  waitFor,
} from '../support/factory-process.js';
import { type SharedDir, sharedTempDir } from '../support/shared-dir.js';
import { makeCernvmRoot, makeStandInRepository } from '../support/standin-repository.js';

const run = promisify(execFile);
// From the package's entry, as node resolves it: the command as the package installs it (its `bin`).
const MOUNTER_BIN = path.join(
  path.dirname(path.dirname(createRequire(import.meta.url).resolve('@docker-cernvm/mounter'))),
  'bin',
  'docker-cernvm.js',
);
const SUITE = 'slots on a CernVM root (podman rootfs)';
const onPodman = await podmanSuiteRuns(SUITE, "a CernVM root as a container's root is podman's rootfs");
const describePodman = onPodman ? describe : describe.skip;

const REPO = 'rootfs.test.invalid';
const LATER = 'later.test.invalid';
const NAME = 'dcvm-test-rootfs-slot';

describePodman(SUITE, () => {
  let shared: SharedDir;
  let scratch: string;
  let fuse: SquashfuseMount;
  let later: SquashfuseMount | undefined;
  let mounter: Mounter;
  let rootDir: string;
  let id: string;

  beforeAll(async () => {
    await removeLeftoverSquashfuse();
    const old = await docker.listContainers({ all: true, filters: { name: [NAME] } });
    await Promise.all(old.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    // Everything under /cvmfs is on a shared mount, as on a host where systemd made / shared (rslave needs it).
    shared = await sharedTempDir();
    scratch = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    const cvmfsDir = path.join(shared.dir, 'cvmfs');
    await makeStandInRepository(path.join(scratch, 'repo'), '4.7.1.0', []);
    await squashImage(path.join(scratch, 'repo'), path.join(scratch, 'repo.squashfs'));
    fuse = await SquashfuseMount.mount(path.join(scratch, 'repo.squashfs'), path.join(cvmfsDir, REPO));
    await makeCernvmRoot(path.join(scratch, 'later'), '4.8.0.0');
    await squashImage(path.join(scratch, 'later'), path.join(scratch, 'later.squashfs'));
    mounter = createMounter({
      paths: { cvmfsDir, mountBase: path.join(scratch, 'mnt'), stateDir: path.join(scratch, 'state') },
    });
    ({ rootDir } = await mounter.resolveRoot({ repository: REPO }));

    // A slot's body as the factory's template makes it (pilot directory, token, scratch, a rslave /cvmfs, hardening),
    // with a command the stand-in root has.
    const pilotDir = path.join(scratch, 'pilot');
    await mkdir(path.join(pilotDir, 'status'), { recursive: true });
    await mkdir(path.join(pilotDir, 'tokens.d'));
    await writeFile(path.join(pilotDir, 'tokens.d', 'pool.token'), 'stand-in\n', { mode: 0o600 });
    await mkdir(path.join(scratch, 'slot-scratch'));
    const body = pilotContainerOptions({
      name: NAME,
      image: 'unused-on-a-root',
      hostPilotDir: pilotDir,
      hostTokenFile: path.join(pilotDir, 'tokens.d', 'pool.token'),
      hostScratchDir: path.join(scratch, 'slot-scratch'),
      options: {
        pilotDir: '/pilot',
        tokenFile: '/pilot/tokens.d/pool.token',
        network: { mode: 'host', interface: '127.0.0.1' },
        executeDir: '/scratch',
        mounts: [{ source: cvmfsDir, target: '/cvmfs', readOnly: true, propagation: 'rslave' }],
      },
      memoryMb: 256,
      pidsLimit: 64,
      cpuset: '0',
      labels: { [TEST_LABEL]: '1', [LABELS.rootfs]: rootDir },
    });
    body.Cmd = ['/bin/sleep', '600'];
    id = await new DetectedRuntime(docker).createAndStart(body);
  }, 120_000);

  afterAll(async () => {
    if (id) await docker.getContainer(id).remove({ force: true });
    await later?.unmount();
    await fuse?.unmount();
    await shared?.release();
    if (scratch) await removeUnmounted(scratch);
  });

  // As uid 0: the stand-in root has no passwd file to look root up in.
  const exec = (command: string) => execIn(docker.getContainer(id), ['sh', '-c', command], '0');

  it('runs on the CernVM root itself, labelled with it', async () => {
    expect(await exec('cat /etc/cernvm-release')).toEqual({ exitCode: 0, output: 'CernVM 4.7.1.0\n' });
    const inspected = await docker.getContainer(id).inspect();
    expect(inspected.Config.Labels[LABELS.rootfs]).toBe(rootDir);
    expect(inspected.State.Running).toBe(true);
  });

  it('docker-cernvm status names the root the slot runs from, and the slot', async () => {
    const { stdout } = await run(process.execPath, [MOUNTER_BIN, 'status', '--json']);
    const report = JSON.parse(stdout) as StatusReport;
    expect(report.storage).toEqual({ store: 'rootfs', engine: 'podman' });
    expect(report.roots.find((r) => r.rootDir === rootDir)).toEqual({
      rootDir,
      version: expect.stringContaining('4.7.1.0'),
      disconnected: false,
      containers: [{ id, name: NAME, state: 'running' }],
    });
  });

  it('keeps writes inside the slot, never in the root it runs from', async () => {
    expect(
      await exec('echo slot > /written-in-slot && echo slot > /etc/written-in-slot && cat /etc/written-in-slot'),
    ).toEqual({ exitCode: 0, output: 'slot\n' });
    await expect(access(path.join(rootDir, 'written-in-slot'))).rejects.toThrow();
    await expect(access(path.join(rootDir, 'etc', 'written-in-slot'))).rejects.toThrow();
  });

  it('sees a repository the host mounts under /cvmfs after the slot started', async () => {
    expect((await exec(`test -e /cvmfs/${LATER}/etc/cernvm-release`)).exitCode).not.toBe(0);
    later = await SquashfuseMount.mount(path.join(scratch, 'later.squashfs'), path.join(shared.dir, 'cvmfs', LATER));
    expect(await exec(`cat /cvmfs/${LATER}/etc/cernvm-release`)).toEqual({ exitCode: 0, output: 'CernVM 4.8.0.0\n' });
  });
});

describePodman('docker-cernvm-factory with cernvm: on podman', () => {
  const FACTORY = 'dcvm-test-rootfs';
  let shared: SharedDir;
  let fuse: SquashfuseMount;
  let factory: FactoryProcess | undefined;
  let dir: string;
  let socket: string;
  let configFile: string;
  const snapshotRoot = (version: string) =>
    path.join(shared.dir, 'cvmfs', CONDOR_REPOSITORY, '.cvmfs', 'snapshots', `cernvm-system-${version}`, 'cvm4');

  /** A snapshot as CVMFS publishes one: the HTCondor root under a read-only overlay adding its version's marker. */
  const publish = async (version: string) => {
    const marker = path.join(shared.dir, 'markers', version);
    await mkdir(marker, { recursive: true });
    await writeFile(path.join(marker, `.installed_cernvm-system-${version}`), '');
    await mkdir(snapshotRoot(version), { recursive: true });
    await run('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `ro,lowerdir=${marker}:${fuse.target}`,
      snapshotRoot(version),
    ]);
  };

  const writeConfig = (snapshot: string, follow = false) =>
    writeFile(
      configFile,
      [
        `name: ${FACTORY}`,
        'slots: 2',
        `cernvm: { repository: ${CONDOR_REPOSITORY}, snapshot: cernvm-system-${snapshot} }`,
        `cvmfsDir: ${path.join(shared.dir, 'cvmfs')}`,
        'collector: 127.0.0.1:9618',
        `tokenFile: ${path.join(dir, 'pool.token')}`,
        `stateDir: ${path.join(dir, 'state')}`,
        `scratchDir: ${path.join(dir, 'scratch')}`,
        `socket: ${socket}`,
        "listen: '127.0.0.1:0'",
        'pin: false',
        'memoryMb: 256',
        'logFormat: json',
        ...(follow ? ['followSnapshot: true', 'followIntervalSeconds: 1'] : []),
        '',
      ].join('\n'),
    );

  /** The 2 running slots once each runs from `root` (and no other slot is left). */
  const slotsOn = (root: string) =>
    waitFor(
      async () => {
        const all = await slotContainers(FACTORY);
        const running = all.filter((c) => c.state === 'running');
        if (all.length !== 2 || running.length !== 2) return undefined;
        const roots = await Promise.all(
          running.map(async (c) => (await docker.getContainer(c.id).inspect()).Config.Labels[LABELS.rootfs]),
        );
        return roots.every((r) => r === root) ? running : undefined;
      },
      90_000,
      `2 running slots on ${root}`,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; the factory's last lines:\n${factory?.output.slice(-3000)}`);
    });

  beforeAll(async () => {
    await removeFactoryContainers(FACTORY);
    shared = await sharedTempDir();
    fuse = await mountCondorRootFuse(path.join(shared.dir, 'root'));
    await publish('4.7.1.0');
    await publish('4.8.0.0');
    dir = path.join(shared.dir, 'factory');
    await mkdir(dir);
    await writeFile(path.join(dir, 'pool.token'), 'stand-in\n', { mode: 0o600 });
    socket = path.join(dir, 'factory.sock');
    configFile = path.join(dir, 'factory.yaml');
  }, 300_000);

  afterAll(async () => {
    factory?.signal('SIGKILL');
    await factory?.exit;
    await removeFactoryContainers(FACTORY);
    // The snapshots' overlays first (release unmounts in reverse order), then the FUSE process under them.
    await shared?.release();
    await fuse?.unmount();
  });

  it('starts 2 slots from the snapshot the configuration names, and a reload to a newer one rolls them', async () => {
    await writeConfig('4.7.1.0');
    factory = new FactoryProcess(['start', '--config', configFile]);
    const first = await slotsOn(snapshotRoot('4.7.1.0'));
    for (const slot of first) {
      // The pilot's own entrypoint runs HTCondor from the root.
      const found = await execIn(docker.getContainer(slot.id), ['test', '-x', '/usr/sbin/condor_master'], '0');
      expect(found.exitCode).toBe(0);
    }
    expect(await controlRequest(socket, { command: 'status' })).toMatchObject({
      ok: true,
      result: { template: { root: snapshotRoot('4.7.1.0'), cernvmVersion: '4.7.1.0' } },
    });

    await writeConfig('4.8.0.0');
    expect(await controlRequest(socket, { command: 'reload' })).toMatchObject({ ok: true });
    const rolled = await slotsOn(snapshotRoot('4.8.0.0'));
    expect(rolled.map((c) => c.templateHash)).not.toContain(first[0]!.templateHash);
    expect(rolled.filter((c) => first.some((f) => f.id === c.id))).toEqual([]);
    expect(await controlRequest(socket, { command: 'status' })).toMatchObject({
      result: { template: { root: snapshotRoot('4.8.0.0'), cernvmVersion: '4.8.0.0' } },
    });
    expect(factory.logs().filter((l) => l.event === 'action-failed')).toEqual([]);
    const cvmfsDir = path.join(shared.dir, 'cvmfs');
    const { stdout } = await run(process.execPath, [
      ...[MOUNTER_BIN, 'snapshots', '--json', '--cvmfs-dir', cvmfsDir, '--repository', CONDOR_REPOSITORY],
    ]);
    expect(JSON.parse(stdout)).toMatchObject({
      available: ['cernvm-system-4.7.1.0', 'cernvm-system-4.8.0.0'],
      mounted: [{ tags: [], snapshot: 'cernvm-system-4.8.0.0', version: 'cernvm-system-4.8.0.0' }],
    });
  }, 240_000);

  it('adopts its slots after a restart, and following snapshots rolls them to a newly published one', async () => {
    const before = await slotsOn(snapshotRoot('4.8.0.0'));
    factory?.signal('SIGKILL');
    await factory?.exit;
    await writeConfig('4.8.0.0', true);
    factory = new FactoryProcess(['start', '--config', configFile]);
    // Its first pass done: the summary counts the slots it found.
    await waitFor(
      async () => {
        const status = await controlRequest(socket, { command: 'status' }).catch(() => undefined);
        return (status?.result as { summary?: { running: number } } | undefined)?.summary?.running === 2;
      },
      30_000,
      'the restarted factory counting 2 running slots',
    );
    // Nothing newer is published yet: the same slots, adopted by their labels.
    expect((await slotsOn(snapshotRoot('4.8.0.0'))).map((c) => c.id)).toEqual(before.map((c) => c.id));

    await publish('4.9.0.0');
    const rolled = await slotsOn(snapshotRoot('4.9.0.0'));
    expect(rolled.filter((c) => before.some((b) => b.id === c.id))).toEqual([]);
    expect(factory.logs().filter((l) => l.event === 'snapshot-followed')).toMatchObject([
      { root: snapshotRoot('4.9.0.0'), snapshot: 'cernvm-system-4.9.0.0' },
    ]);
    expect(factory.logs().filter((l) => l.event === 'action-failed')).toEqual([]);
  }, 240_000);
});
