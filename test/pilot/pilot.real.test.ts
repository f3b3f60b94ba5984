import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DockerodePilotEngine,
  HEARTBEAT_FILE,
  type Heartbeat,
  PilotRunner,
  checkPilotOptions,
  pilotContainerOptions,
  readHeartbeat,
  render,
  writePilotDir,
} from '@docker-cernvm/pilot';
import { TMP_PREFIX } from '../support/cleanup.js';
import { CentralManager, TRUST_DOMAIN } from '../support/central-manager.js';
import { type MountedCondorImage, mountCondorImage, removeUnmounted } from '../support/condor-image.js';
import { TEST_LABEL, demux, docker, realEngineAvailable } from '../support/engine.js';
import { SquashfuseMount, squashImage } from '../support/fuse-repository.js';
import { type SharedDir, sharedTempDir } from '../support/shared-dir.js';
import { waitFor } from '../support/wait.js';

const engineUp = await realEngineAvailable('pilot in a real HTCondor pool');
const describePool = engineUp ? describe : describe.skip;

/** Stands in for the terminal: emitting SIGINT here is the operator pressing Ctrl-C. */
class FakeSignals extends EventEmitter {}

interface RunningPilot {
  slotName: string;
  dir: string;
  signals: FakeSignals;
  exit: Promise<number>;
  output: () => string;
}

describePool('docker-cernvm-pilot in a real HTCondor pool', () => {
  let tmp: string;
  let condor: MountedCondorImage;
  let pool: CentralManager;
  const started: number = Date.now();

  beforeAll(async () => {
    condor = await mountCondorImage();
    tmp = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    pool = await CentralManager.start(condor.image, path.join(tmp, 'cm'));
  }, 600_000);

  afterAll(async () => {
    await pool?.stop();
    await condor?.release();
    if (tmp) await removeUnmounted(tmp);
    console.log(`pilot end-to-end tests took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  /** Starts one pilot the way `docker-cernvm-pilot run` does, in the background. */
  function startPilot(
    slotName: string,
    extra: Record<string, unknown> = {},
    memoryMb?: number,
    scratchRoot?: string,
  ): RunningPilot {
    const options = checkPilotOptions({
      collector: pool.collector,
      trustDomain: TRUST_DOMAIN,
      slotName,
      heartbeatSeconds: 1,
      attributes: { DockerCernvmTestSlot: slotName },
      ...extra,
    });
    const signals = new FakeSignals();
    let output = '';
    const io = { stdout: (text: string) => void (output += text), stderr: (text: string) => void (output += text) };
    const dir = path.join(tmp, slotName);
    const exit = new PilotRunner(new DockerodePilotEngine(docker), io, signals).run({
      image: condor.image,
      options,
      hostTokenFile: pool.tokenFile,
      workDir: dir,
      containerName: `docker-cernvm-test-pilot-${slotName}`,
      memoryMb,
      ...(scratchRoot ? { scratchRoot } : {}),
      keep: false,
      labels: { [TEST_LABEL]: '1' },
    });
    return { slotName, dir, signals, exit, output: () => output };
  }

  const heartbeatOf = (pilot: RunningPilot) => readHeartbeat(path.join(pilot.dir, HEARTBEAT_FILE));

  /** Waits for a heartbeat that passes the check, and returns every heartbeat seen on the way. */
  async function watchHeartbeat(pilot: RunningPilot, check: (h: Heartbeat) => boolean, timeoutMs: number) {
    const seen: Heartbeat[] = [];
    const last = await waitFor(
      async () => {
        const heartbeat = heartbeatOf(pilot);
        if (heartbeat && seen.at(-1)?.epoch !== heartbeat.epoch) seen.push(heartbeat);
        return heartbeat && check(heartbeat) ? heartbeat : undefined;
      },
      timeoutMs,
      'the heartbeat',
    );
    return { last, seen };
  }

  const slotAd = async (slotName: string) =>
    (await pool.slots(['Cpus', 'Memory', 'State', 'DockerCernvmTestSlot'])).find(
      (ad) => ad.DockerCernvmTestSlot === slotName,
    );

  describe('one pilot, from joining to a peaceful drain', () => {
    let pilot: RunningPilot;

    beforeAll(() => {
      pilot = startPilot('a', {}, 512);
    });

    afterAll(async () => {
      pilot.signals.emit('SIGINT');
      pilot.signals.emit('SIGINT');
      await pilot.exit.catch(() => undefined);
    });

    it('joins the pool: the collector shows one slot with Cpus 1 and the container memory limit', async () => {
      const ad = await waitFor(() => slotAd('a'), 60_000, 'slot a in the collector');
      expect(ad).toMatchObject({ Cpus: 1, Memory: 512, State: 'Unclaimed' });
      const slots = await pool.slots(['DockerCernvmTestSlot']);
      expect(slots.filter((s) => s.DockerCernvmTestSlot === 'a')).toHaveLength(1);
    }, 90_000);

    it('says Unclaimed in its heartbeat before a job, then Claimed with the job id while one runs, and the job completes', async () => {
      // The state comes from the startd's log, which the entrypoint reads within a second or two of the collector.
      const before = await watchHeartbeat(pilot, (h) => h.phase === 'running' && h.state !== null, 30_000);
      expect(before.last).toMatchObject({ state: 'Unclaimed', jobId: null });

      const cluster = await pool.submit({
        name: 'short',
        command: 'sleep 8; echo "ran on $(cat /etc/debian_version)"',
        requirements: 'DockerCernvmTestSlot == "a"',
      });
      const busy = await watchHeartbeat(pilot, (h) => h.state === 'Claimed' && h.jobId !== null, 90_000);
      expect(busy.last).toMatchObject({ phase: 'running', state: 'Claimed', activity: 'Busy', jobId: `${cluster}.0` });

      await waitFor(async () => (await pool.events('short')).some((e) => e.code === '005'), 60_000, 'the job to end');
      const events = await pool.events('short');
      expect(events.find((e) => e.code === '005')?.text).toContain('return value 0');
      expect(await pool.jobOutput('short')).toMatch(/^ran on 13\./);
      await watchHeartbeat(pilot, (h) => h.state === 'Unclaimed', 30_000);
    }, 180_000);

    it('drains while a 30 s job runs: the job completes without eviction, then the container exits 0', async () => {
      await pool.submit({ name: 'long', command: 'sleep 30; echo done', requirements: 'DockerCernvmTestSlot == "a"' });
      await watchHeartbeat(pilot, (h) => h.state === 'Claimed' && h.activity === 'Busy', 90_000);

      pilot.signals.emit('SIGINT'); // Ctrl-C: the runner sends SIGUSR1, the entrypoint drains
      const draining = await watchHeartbeat(pilot, (h) => h.phase === 'draining', 15_000);
      expect(draining.last).toMatchObject({ drainReason: 'signal', state: 'Claimed' });

      const code = await pilot.exit;
      const events = await pool.events('long');
      expect(code).toBe(0);
      expect(events.filter((e) => e.code === '001')).toHaveLength(1);
      expect(events.map((e) => e.code)).not.toContain('004');
      expect(events.find((e) => e.code === '005')?.text).toContain('return value 0');
      expect(await pool.jobOutput('long')).toBe('done\n');
      expect(pilot.output()).toContain('drained (signal): exiting 0');
      const terminated = Date.parse(`${/005 \(\S+\) (\S+ \S+)/.exec(events.find((e) => e.code === '005')!.text)![1]}Z`);
      console.log(`drain: container exited ${((Date.now() - terminated) / 1000).toFixed(1)} s after the job ended`);
    }, 180_000);
  });

  describe('what a job gets from the host: CVMFS, scratch, environment', () => {
    let shared: SharedDir;
    let fuse: SquashfuseMount | undefined;

    beforeAll(async () => {
      shared = await sharedTempDir();
    });

    afterAll(async () => {
      await fuse?.unmount();
      await shared?.release();
    });

    it('runs a job that reads its software from a bound /cvmfs/<repo> stand-in on FUSE, in the slot’s host scratch, with the site’s job environment', async () => {
      const source = path.join(tmp, 'alice-source');
      await mkdir(path.join(source, 'etc'), { recursive: true });
      await writeFile(path.join(source, 'etc', 'release'), 'AliPhysics stand-in v1\n');
      await squashImage(source, path.join(tmp, 'alice.squashfs'));
      const repo = path.join(shared.dir, 'cvmfs', 'alice.test.invalid');
      fuse = await SquashfuseMount.mount(path.join(tmp, 'alice.squashfs'), repo);
      const scratchRoot = path.join(tmp, 'scratch');
      const pilot = startPilot(
        'cvmfs',
        {
          executeDir: '/scratch',
          mounts: [{ source: repo, target: '/cvmfs/alice.test.invalid' }],
          jobEnvironment: { VO_SITE: `T2 "test" site's`, SOFTWARE_ROOT: '/cvmfs/alice.test.invalid' },
        },
        undefined,
        scratchRoot,
      );
      await waitFor(() => slotAd('cvmfs'), 60_000, 'the slot in the collector');
      await pool.submit({
        name: 'cvmfs',
        command: 'cat "$SOFTWARE_ROOT/etc/release"; echo "site=$VO_SITE"; pwd; ls /scratch',
        requirements: 'DockerCernvmTestSlot == "cvmfs"',
      });
      await waitFor(async () => (await pool.events('cvmfs')).some((e) => e.code === '005'), 120_000, 'the job to end');
      expect((await pool.events('cvmfs')).find((e) => e.code === '005')?.text).toContain('return value 0');
      const [release, site, cwd, listing] = (await pool.jobOutput('cvmfs')).split('\n');
      expect([release, site]).toEqual(['AliPhysics stand-in v1', `site=T2 "test" site's`]);
      expect(cwd).toMatch(/^\/scratch\/dir_\d+$/);
      expect(listing).toBe(path.basename(cwd!));

      pilot.signals.emit('SIGINT');
      expect(await pilot.exit).toBe(0);
      // The container is gone, and so is what its job left on the host.
      expect(await readdir(path.join(scratchRoot, 'cvmfs'))).toEqual([]);
    }, 240_000);
  });

  it('stops on SIGTERM while a job runs: the job is vacated at once, back in the queue idle, and the container exits 0', async () => {
    const pilot = startPilot('stop', {}, 512);
    const cluster = await pool.submit({
      name: 'stopped',
      command: 'sleep 600',
      requirements: 'DockerCernvmTestSlot == "stop"',
    });
    await watchHeartbeat(pilot, (h) => h.state === 'Claimed' && h.activity === 'Busy', 90_000);
    const signalled = Date.now();
    pilot.signals.emit('SIGTERM');
    expect(await pilot.exit).toBe(0);
    console.log(`stop: container exited ${((Date.now() - signalled) / 1000).toFixed(1)} s after SIGTERM`);
    // Well within the pilot's default vacateSeconds (30): the job ends at its soft kill, nobody waits for a hard one.
    expect(Date.now() - signalled).toBeLessThan(25_000);
    const codes = await waitFor(
      async () => {
        const seen = (await pool.events('stopped')).map((e) => e.code);
        return seen.includes('004') ? seen : undefined;
      },
      30_000,
      'the eviction in the job log',
    );
    expect(codes).not.toContain('005');
    const queued = await pool.exec(['condor_q', String(cluster), '-af', 'JobStatus', 'NumJobStarts'], 'tester');
    expect(queued.output.trim()).toBe('1 1');
    await pool.exec(['condor_rm', String(cluster)], 'tester');
  }, 180_000);

  it('ends an unclaimed pilot by itself after its idle limit, with exit code 0', async () => {
    const pilot = startPilot('idle', { idleShutdownSeconds: 10, start: 'False' });
    await waitFor(() => slotAd('idle'), 60_000, 'the idle slot in the collector');
    expect(await pilot.exit).toBe(0);
    expect(pilot.output()).toContain('idle limit');
    expect(heartbeatOf(pilot)).toMatchObject({ phase: 'exited' });
  }, 120_000);

  describe('a token that HTCondor would refuse stops the container before HTCondor starts', () => {
    /** Makes the container directly, past the runner's own host-side check, to test the entrypoint's. */
    async function runWithToken(name: string, tokenFile: string | undefined) {
      const options = checkPilotOptions({ collector: pool.collector, trustDomain: TRUST_DOMAIN, slotName: name });
      const dir = path.join(tmp, name);
      writePilotDir(dir, render(options));
      const body = pilotContainerOptions({
        name: `docker-cernvm-test-pilot-${name}`,
        image: condor.image,
        hostPilotDir: dir,
        hostTokenFile: tokenFile ?? '/nonexistent',
        options,
        labels: { [TEST_LABEL]: '1' },
      });
      if (!tokenFile)
        body.HostConfig!.Binds = body.HostConfig!.Binds!.filter((bind) => !bind.startsWith('/nonexistent'));
      const container = await docker.createContainer(body);
      try {
        await container.start();
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        return { code: StatusCode, output: demux(await container.logs({ stdout: true, stderr: true })) };
      } finally {
        await container.remove({ force: true });
      }
    }

    it.each([
      // Unmounted, the token is the empty mount point render() leaves in the read-only /pilot.
      ['missing', undefined, /pool token \/pilot\/tokens\.d\/pool\.token is empty/, undefined],
      ['empty', '', /is empty/, 0o600],
      ['world-readable', 'not-a-real-token', /has mode 644.*chmod 600/, 0o644],
    ])(
      '%s token: a clear error and a non-zero exit',
      async (kind, content, message, mode) => {
        let tokenFile: string | undefined;
        if (content !== undefined) {
          tokenFile = path.join(tmp, `${kind}.token`);
          await writeFile(tokenFile, content);
          await chmod(tokenFile, mode!);
        }
        const { code, output } = await runWithToken(`bad-${kind}`, tokenFile);
        expect(code).toBe(78);
        expect(output).toMatch(message);
        expect(output).not.toContain('condor_master started');
        expect(output).not.toContain('not-a-real-token');
      },
      60_000,
    );
  });

  it('never shows the token in the container configuration or in its output', async () => {
    const token = (await readFile(pool.tokenFile, 'utf8')).trim();
    const pilot = startPilot('secret', { start: 'False' });
    const container = docker.getContainer('docker-cernvm-test-pilot-secret');
    await waitFor(() => slotAd('secret'), 60_000, 'the slot in the collector');
    const inspected = await container.inspect();
    pilot.signals.emit('SIGINT');
    expect(await pilot.exit).toBe(0);
    const visible = JSON.stringify({
      env: inspected.Config.Env,
      labels: inspected.Config.Labels,
      cmd: inspected.Config.Cmd,
      args: inspected.Args,
    });
    expect(visible).not.toContain(token);
    expect(visible).not.toContain(token.slice(0, 40));
    expect(pilot.output()).not.toContain(token.slice(0, 40));
    expect(inspected.Mounts.find((m) => m.Destination === '/pilot/tokens.d/pool.token')).toMatchObject({ RW: false });
    expect(inspected.HostConfig.Init).toBe(true);
  }, 120_000);
});
