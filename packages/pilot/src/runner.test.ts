import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pilotContainerOptions } from './container-spec.js';
import { type RunRequest, PilotRunner } from './runner.js';
import { FakePilotEngine } from './testing/fake-pilot-engine.js';
import { FakeSignals } from '@docker-cernvm/cli-kit/testing';
import { testOptions } from './testing/pilot-options.js';

describe('PilotRunner', () => {
  let tmp: string;
  let engine: FakePilotEngine;
  let signals: FakeSignals;
  let out: string;
  let err: string;
  let runner: PilotRunner;
  let request: RunRequest;

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'runner-'));
    await writeFile(path.join(tmp, 'pool.token'), 'eyJhbGciOiJIUzI1NiJ9.x.y\n');
    await chmod(path.join(tmp, 'pool.token'), 0o600);
    engine = new FakePilotEngine();
    signals = new FakeSignals();
    out = '';
    err = '';
    runner = new PilotRunner(engine, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) }, signals);
    request = {
      image: 'cernvm:4',
      options: testOptions({ slotName: 'slot-7' }),
      hostTokenFile: path.join(tmp, 'pool.token'),
      workDir: path.join(tmp, 'work'),
      containerName: 'pilot-slot-7',
      keep: false,
    };
  });
  afterEach(() => rm(tmp, { recursive: true, force: true }));

  /** Starts a run whose container keeps running until the test calls engine.exit(); `done` is the run's result. */
  async function startRun(): Promise<{ done: Promise<number> }> {
    engine.exitCode = undefined;
    const done = runner.run(request);
    await engine.waiting;
    return { done };
  }

  it('renders the pilot directory before it creates the container', async () => {
    let renderedFirst = false;
    engine.onCreate = async (spec) => {
      renderedFirst = (await readFile(path.join(spec.hostPilotDir, 'condor_config'), 'utf8')).includes(
        'LOCAL_CONFIG_DIR',
      );
    };
    await runner.run(request);
    expect(renderedFirst).toBe(true);
    expect((await stat(path.join(request.workDir, 'entrypoint.sh'))).mode & 0o777).toBe(0o755);
  });

  it('mounts the pilot directory, and the token read-only, in the container it creates', async () => {
    await runner.run({ ...request, memoryMb: 2048, cpuset: '3' });
    expect(engine.created).toHaveLength(1);
    const body = pilotContainerOptions(engine.created[0]!);
    expect(body.name).toBe('pilot-slot-7');
    expect(body.Image).toBe('cernvm:4');
    expect(body.HostConfig?.Binds).toEqual([
      `${request.workDir}:/pilot:ro`,
      `${request.workDir}/status:/pilot/status`,
      `${request.hostTokenFile}:/pilot/tokens.d/pool.token:ro`,
    ]);
    expect(body.HostConfig?.Memory).toBe(2048 * 1024 * 1024);
    expect(body.HostConfig?.CpusetCpus).toBe('3');
    expect(body.Labels).toEqual({ 'org.docker-cernvm.pilot': 'slot-7' });
  });

  it("shows the container's output and returns its exit code", async () => {
    engine.exitCode = 99;
    engine.output = { stdout: 'job output\n', stderr: 'pilot: condor_master started\n' };
    await expect(runner.run(request)).resolves.toBe(99);
    expect(out).toBe('job output\n');
    expect(err).toContain('pilot: condor_master started\n');
    expect(err).toContain('pilot slot-7 exited with code 99\n');
  });

  it('drains on the first Ctrl-C, stops gracefully on the second, and at once on the third', async () => {
    const { done } = await startRun();
    signals.emit('SIGINT');
    expect(engine.signals).toEqual(['SIGUSR1']);
    expect(err).toContain('draining');
    signals.emit('SIGINT');
    expect(engine.signals).toEqual(['SIGUSR1', 'SIGTERM']);
    signals.emit('SIGINT');
    signals.emit('SIGINT');
    expect(engine.signals).toEqual(['SIGUSR1', 'SIGTERM', 'SIGQUIT', 'SIGQUIT']);
    engine.exit(0);
    await expect(done).resolves.toBe(0);
  });

  it('passes SIGTERM on as SIGTERM (a graceful stop, not a drain)', async () => {
    const { done } = await startRun();
    signals.emit('SIGTERM');
    expect(engine.signals).toEqual(['SIGTERM']);
    engine.exit(0);
    await done;
  });

  it('removes its signal handlers once the container has exited', async () => {
    const { done } = await startRun();
    expect(signals.listenerCount).toBe(2);
    engine.exit(0);
    await done;
    expect(signals.listenerCount).toBe(0);
    signals.emit('SIGINT');
    expect(engine.signals).toEqual([]);
  });

  it('removes the container after it exits', async () => {
    await runner.run(request);
    expect(engine.calls.at(-1)).toBe('remove id-pilot-slot-7');
  });

  it('keeps the container when asked to', async () => {
    await runner.run({ ...request, keep: true });
    expect(engine.calls.filter((call) => call.startsWith('remove'))).toEqual([]);
  });

  it('cleans up (handlers and container) when the container cannot start', async () => {
    engine.startError = new Error('port is already allocated');
    await expect(runner.run(request)).rejects.toThrow('port is already allocated');
    expect(signals.listenerCount).toBe(0);
    expect(engine.calls).toContain('remove id-pilot-slot-7');
  });

  it('refuses a token others can read before it asks the engine anything', async () => {
    await chmod(request.hostTokenFile, 0o644);
    await expect(runner.run(request)).rejects.toThrow(expect.objectContaining({ code: 'E_BAD_TOKEN' }));
    expect(engine.calls).toEqual([]);
    await expect(stat(request.workDir)).rejects.toThrow();
  });

  it('refuses a missing image with E_NO_IMAGE, writing and creating nothing', async () => {
    await expect(runner.run({ ...request, image: 'cernvm:missing' })).rejects.toThrow(
      expect.objectContaining({
        code: 'E_NO_IMAGE',
        message: expect.stringContaining('docker-cernvm mount --tag cernvm:missing'),
      }),
    );
    expect(engine.created).toEqual([]);
    await expect(stat(request.workDir)).rejects.toThrow();
  });

  it('refuses to replace a container of the same name', async () => {
    engine.containers.add('pilot-slot-7');
    await expect(runner.run(request)).rejects.toThrow(expect.objectContaining({ code: 'E_RUN_FAILED' }));
    expect(engine.created).toEqual([]);
  });

  describe('mounts and scratch', () => {
    it('refuses a mount source that does not exist, naming it, before it writes or creates anything', async () => {
      const missing = path.join(tmp, 'cvmfs', 'alice.cern.ch');
      const options = testOptions({ slotName: 'slot-7', mounts: [{ source: missing }] });
      await expect(runner.run({ ...request, options })).rejects.toThrow(
        expect.objectContaining({
          code: 'E_BAD_MOUNT',
          message: `mounts.0.source ${missing}: does not exist on this host (create it or mount it first)`,
        }),
      );
      expect(engine.calls).toEqual([]);
      await expect(stat(request.workDir)).rejects.toThrow();
    });

    it('binds an existing mount source into the container', async () => {
      const source = path.join(tmp, 'site');
      await mkdir(source);
      const options = testOptions({
        slotName: 'slot-7',
        mounts: [{ source, target: '/site', propagation: 'rprivate' }],
      });
      await runner.run({ ...request, options });
      expect(pilotContainerOptions(engine.created[0]!).HostConfig?.Mounts).toEqual([
        { Type: 'bind', Source: source, Target: '/site', ReadOnly: true, BindOptions: { Propagation: 'rprivate' } },
      ]);
    });

    it('gives the container an emptied <scratchRoot>/<slot> as EXECUTE, and empties it again once removed', async () => {
      const scratchRoot = path.join(tmp, 'scratch');
      const scratch = path.join(scratchRoot, 'slot-7');
      await mkdir(scratch, { recursive: true });
      await writeFile(path.join(scratch, 'left-by-an-earlier-job'), 'x');
      let seenAtCreate: string[] | undefined;
      engine.onCreate = async (spec) => {
        seenAtCreate = await readdir(spec.hostScratchDir!);
        await writeFile(path.join(spec.hostScratchDir!, 'job-output'), 'y');
      };
      const options = testOptions({ slotName: 'slot-7', executeDir: '/scratch' });
      await runner.run({ ...request, options, scratchRoot });
      expect(engine.created[0]?.hostScratchDir).toBe(scratch);
      expect(seenAtCreate).toEqual([]);
      expect(await readdir(scratch)).toEqual([]);
    });

    it('keeps the scratch of a kept container', async () => {
      const scratchRoot = path.join(tmp, 'scratch');
      engine.onCreate = (spec) => writeFile(path.join(spec.hostScratchDir!, 'job-output'), 'y');
      await runner.run({
        ...request,
        options: testOptions({ slotName: 'slot-7', executeDir: '/scratch' }),
        scratchRoot,
        keep: true,
      });
      expect(await readdir(path.join(scratchRoot, 'slot-7'))).toEqual(['job-output']);
    });
  });
});
