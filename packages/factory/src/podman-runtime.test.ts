import { describe, expect, it } from '@jest/globals';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { FactoryError } from './errors.js';
import type { SlotRlimits } from './host-rlimits.js';
import { LABELS } from './labels.js';
import { PodmanRuntime, withRlimits } from './podman-runtime.js';

const LIMITS: SlotRlimits = { nofile: { soft: 1024, hard: 4096 }, nproc: { soft: 4096, hard: 8192 } };

/** Just enough of dockerode on podman's compatible API: the bodies created, and a start that may fail. */
function podman(startFails?: Error) {
  const created: ContainerCreateOptions[] = [];
  const removed: string[] = [];
  /** Requests to podman's own API (dockerode's modem.dial), for slots on a CernVM root. */
  const dialed: Array<{ path: string; method: string; options: unknown }> = [];
  const start = async () => {
    if (startFails) throw startFails;
  };
  const docker = {
    createContainer: async (body: ContainerCreateOptions) => {
      created.push(body);
      return { id: 'c1', start };
    },
    getContainer: (id: string) => ({ id, start, remove: async () => void removed.push(id) }),
    modem: {
      dial: (
        request: { path: string; method: string; options: unknown },
        callback: (error: unknown, result: unknown) => void,
      ) => {
        dialed.push({ path: request.path, method: request.method, options: request.options });
        callback(null, { Id: 'r1', Warnings: [] });
      },
    },
  };
  const runtime = new PodmanRuntime(
    docker as unknown as Docker,
    () => undefined,
    async () => LIMITS,
  );
  return { created, removed, dialed, runtime };
}

describe('withRlimits', () => {
  it('adds open files and processes at the hard limits', () => {
    expect(withRlimits({ name: 's', HostConfig: { Init: true } }, LIMITS)).toEqual({
      name: 's',
      HostConfig: {
        Init: true,
        Ulimits: [
          { Name: 'nofile', Soft: 4096, Hard: 4096 },
          { Name: 'nproc', Soft: 8192, Hard: 8192 },
        ],
      },
    });
  });

  it('keeps a limit the body names, and leaves an unlimited one to podman', () => {
    const body = { HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }] } };
    const unlimited = { ...LIMITS, nproc: { soft: undefined, hard: undefined } };
    expect(withRlimits(body, unlimited)).toBe(body);
  });
});

describe('PodmanRuntime.createAndStart', () => {
  it('creates the slot with explicit rlimits', async () => {
    const { created, runtime } = podman();
    await expect(runtime.createAndStart({ name: 'f-slot-0', Image: 'slot:1' })).resolves.toBe('c1');
    expect(created[0]?.HostConfig?.Ulimits).toEqual([
      { Name: 'nofile', Soft: 4096, Hard: 4096 },
      { Name: 'nproc', Soft: 8192, Hard: 8192 },
    ]);
  });

  it("turns podman's rlimit refusal into an error that names the fix, and removes the container", async () => {
    const refusal = new Error(
      'runc create failed: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted',
    );
    const { removed, runtime } = podman(refusal);
    const failure = runtime.createAndStart({ name: 'f-slot-0' });
    await expect(failure).rejects.toThrow(FactoryError);
    await expect(failure).rejects.toThrow(/open files 1024:4096.*default_ulimits/);
    await expect(failure).rejects.toMatchObject({ code: 'E_ENGINE', cause: refusal });
    expect(removed).toEqual(['c1']);
  });

  it('passes any other failure on as it is', async () => {
    const { runtime } = podman(new Error('no such image'));
    await expect(runtime.createAndStart({ name: 'f-slot-0' })).rejects.toThrow(/^no such image$/);
  });

  it('creates a slot labelled with a CernVM root through libpod: that root under an overlay, no image', async () => {
    const { created, dialed, runtime } = podman();
    const body = {
      name: 'f-slot-0',
      Image: 'cernvm-root',
      Cmd: ['/pilot/entrypoint.sh'],
      Labels: { [LABELS.factory]: 'f', [LABELS.rootfs]: '/cvmfs/cernvm-prod.cern.ch/cvm4' },
      HostConfig: { NetworkMode: 'host', Init: true },
    };
    await expect(runtime.createAndStart(body)).resolves.toBe('r1');
    expect(created).toEqual([]);
    expect(dialed).toEqual([
      {
        path: '/v4.0.0/libpod/containers/create',
        method: 'POST',
        options: expect.objectContaining({
          name: 'f-slot-0',
          rootfs: '/cvmfs/cernvm-prod.cern.ch/cvm4',
          rootfs_overlay: true,
          command: ['/pilot/entrypoint.sh'],
          netns: { nsmode: 'host' },
          r_limits: [
            { type: 'nofile', soft: 4096, hard: 4096 },
            { type: 'nproc', soft: 8192, hard: 8192 },
          ],
        }),
      },
    ]);
    expect(dialed[0]?.options).not.toHaveProperty('image');
  });

  it('removes a slot on a CernVM root that cannot start', async () => {
    const { removed, runtime } = podman(new Error('crun: mount failed'));
    const body = { name: 'f-slot-0', Labels: { [LABELS.rootfs]: '/srv/root' }, HostConfig: {} };
    await expect(runtime.createAndStart(body)).rejects.toThrow('crun: mount failed');
    expect(removed).toEqual(['r1']);
  });
});

describe('PodmanRuntime.list', () => {
  it('lists a container podman calls stopped (ended, not yet cleaned up) as exited, the others as they are', async () => {
    const listed = [
      { Id: 'ended', State: 'stopped' },
      { Id: 'up', State: 'running' },
      { Id: 'gone', State: 'exited' },
    ];
    const docker = {
      listContainers: async () => listed.map((c) => ({ ...c, Created: 1, Labels: { [LABELS.slot]: '0' } })),
    };
    const runtime = new PodmanRuntime(
      docker as unknown as Docker,
      () => undefined,
      async () => LIMITS,
    );
    expect((await runtime.list('f')).map((c) => [c.id, c.state])).toEqual([
      ['ended', 'exited'],
      ['up', 'running'],
      ['gone', 'exited'],
    ]);
  });
});
