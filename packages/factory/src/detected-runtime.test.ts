import { describe, expect, it } from '@jest/globals';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { DetectedRuntime, engineKindOf } from './detected-runtime.js';

const PODMAN_VERSION = {
  Components: [
    { Name: 'Podman Engine', Version: '4.3.1' },
    { Name: 'Conmon', Version: 'conmon version 2.1.6' },
  ],
};
const DOCKER_VERSION = { Components: [{ Name: 'Engine', Version: '20.10.24' }, { Name: 'containerd' }] };

/** A fake engine answering /version, list and create; what it was asked, in order. */
function engine(versions: Array<object | Error>) {
  const calls: string[] = [];
  const created: ContainerCreateOptions[] = [];
  const docker = {
    modem: {},
    version: async () => {
      calls.push('version');
      const next = versions.shift();
      if (!next || next instanceof Error) throw next ?? new Error('no answer');
      return next;
    },
    listContainers: async () => {
      calls.push('list');
      return [];
    },
    createContainer: async (body: ContainerCreateOptions) => {
      calls.push('create');
      created.push(body);
      return { id: 'c1', start: async () => undefined };
    },
  };
  return { calls, created, docker: docker as unknown as Docker };
}

describe('engineKindOf', () => {
  it('knows podman by its component, and takes anything else for Docker', () => {
    expect(engineKindOf(PODMAN_VERSION)).toBe('podman');
    expect(engineKindOf(DOCKER_VERSION)).toBe('docker');
    expect(engineKindOf({})).toBe('docker');
  });
});

describe('DetectedRuntime', () => {
  it('asks the engine once, then creates podman slots with explicit rlimits', async () => {
    const { calls, created, docker } = engine([PODMAN_VERSION]);
    const runtime = new DetectedRuntime(docker);
    await runtime.list('f');
    await runtime.createAndStart({ name: 'f-slot-0' });
    expect(calls).toEqual(['version', 'list', 'create']);
    expect(created[0]?.HostConfig?.Ulimits?.map((u) => u.Name)).toEqual(expect.arrayContaining(['nofile']));
  });

  it('tells which engine it is, asking the engine once for that and what follows', async () => {
    const podman = engine([PODMAN_VERSION]);
    const runtime = new DetectedRuntime(podman.docker);
    expect(await runtime.engine()).toBe('podman');
    await runtime.list('f');
    expect(podman.calls).toEqual(['version', 'list']);
    expect(await new DetectedRuntime(engine([DOCKER_VERSION]).docker).engine()).toBe('docker');
  });

  it('creates Docker slots with the body as the template made it', async () => {
    const { created, docker } = engine([DOCKER_VERSION]);
    await new DetectedRuntime(docker).createAndStart({ name: 'f-slot-0', HostConfig: { Init: true } });
    expect(created).toEqual([{ name: 'f-slot-0', HostConfig: { Init: true } }]);
  });

  it('asks again after a failed ask, and counts each ask', async () => {
    const { calls, docker } = engine([new Error('connect ENOENT'), DOCKER_VERSION]);
    const counted: string[] = [];
    const runtime = new DetectedRuntime(docker, (operation) => counted.push(operation));
    await expect(runtime.list('f')).rejects.toThrow('connect ENOENT');
    await expect(runtime.list('f')).resolves.toEqual([]);
    expect(calls).toEqual(['version', 'version', 'list']);
    expect(counted).toEqual(['version', 'version', 'container_list']);
  });
});
