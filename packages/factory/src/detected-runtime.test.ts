import { describe, expect, it } from '@jest/globals';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { DetectedRuntime, engineKindOf } from './detected-runtime.js';

// The headers of `GET /_ping`, as podman 4.3.1 and dockerd 20.10 send them.
const PODMAN_PING = { 'api-version': '1.41', 'libpod-api-version': '4.3.1', server: 'Libpod/4.3.1 (linux)' };
const DOCKER_PING = { 'api-version': '1.41', 'docker-experimental': 'false', ostype: 'linux' };

/** A fake engine answering /_ping, list and create; what it was asked, in order. */
function engine(pings: Array<object | Error>) {
  const calls: string[] = [];
  const created: ContainerCreateOptions[] = [];
  const docker = {
    modem: {
      dial: (options: { path: string }, callback: (error: unknown, answer?: unknown) => void) => {
        calls.push(options.path);
        const next = pings.shift();
        if (!next || next instanceof Error) return callback(next ?? new Error('no answer'));
        callback(null, { headers: next, resume: () => undefined });
      },
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
  it("knows podman by its API's version header, and takes anything else for Docker", () => {
    expect(engineKindOf(PODMAN_PING)).toBe('podman');
    expect(engineKindOf(DOCKER_PING)).toBe('docker');
    expect(engineKindOf({})).toBe('docker');
  });
});

describe('DetectedRuntime', () => {
  it('asks the engine once, then creates podman slots with explicit rlimits', async () => {
    const { calls, created, docker } = engine([PODMAN_PING]);
    const runtime = new DetectedRuntime(docker);
    await runtime.list('f');
    await runtime.createAndStart({ name: 'f-slot-0' });
    expect(calls).toEqual(['/_ping', 'list', 'create']);
    expect(created[0]?.HostConfig?.Ulimits?.map((u) => u.Name)).toEqual(expect.arrayContaining(['nofile']));
  });

  it('tells which engine it is, asking the engine once for that and what follows', async () => {
    const podman = engine([PODMAN_PING]);
    const runtime = new DetectedRuntime(podman.docker);
    expect(await runtime.engine()).toBe('podman');
    await runtime.list('f');
    expect(podman.calls).toEqual(['/_ping', 'list']);
    expect(await new DetectedRuntime(engine([DOCKER_PING]).docker).engine()).toBe('docker');
  });

  it('creates Docker slots with the body as the template made it', async () => {
    const { created, docker } = engine([DOCKER_PING]);
    await new DetectedRuntime(docker).createAndStart({ name: 'f-slot-0', HostConfig: { Init: true } });
    expect(created).toEqual([{ name: 'f-slot-0', HostConfig: { Init: true } }]);
  });

  it('asks again after a failed ask, and counts each ask', async () => {
    const { calls, docker } = engine([new Error('connect ENOENT'), DOCKER_PING]);
    const counted: string[] = [];
    const runtime = new DetectedRuntime(docker, (operation) => counted.push(operation));
    await expect(runtime.list('f')).rejects.toThrow('connect ENOENT');
    await expect(runtime.list('f')).resolves.toEqual([]);
    expect(calls).toEqual(['/_ping', '/_ping', 'list']);
    expect(counted).toEqual(['ping', 'ping', 'container_list']);
  });
});
