import { describe, expect, it } from '@jest/globals';
import type Docker from 'dockerode';
import { DockerodeRuntime } from './docker-runtime.js';

/** Just enough of dockerode for createAndStart: what was called, in order. */
function engine(options: { createFails?: Error; startFails?: Error } = {}) {
  const calls: string[] = [];
  const docker = {
    createContainer: async (spec: { name: string }) => {
      calls.push(`create:${spec.name}`);
      if (options.createFails) throw options.createFails;
      return {
        id: 'c1',
        start: async () => {
          calls.push('start:c1');
          if (options.startFails) throw options.startFails;
        },
      };
    },
    getContainer: (id: string) => ({ remove: async () => void calls.push(`remove:${id}`) }),
  };
  return { calls, runtime: new DockerodeRuntime(docker as unknown as Docker) };
}

const rejected = (message: string) => {
  const promise = Promise.reject(new Error(message));
  promise.catch(() => undefined);
  return promise;
};

describe('DockerodeRuntime.createAndStart', () => {
  it('makes the container before the slot is ready, and starts it only once it is', async () => {
    const { calls, runtime } = engine();
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const made = runtime.createAndStart({ name: 'f-slot-0' }, ready);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(['create:f-slot-0']);
    markReady();
    await expect(made).resolves.toBe('c1');
    expect(calls).toEqual(['create:f-slot-0', 'start:c1']);
  });

  it('removes the container, never starting it, when the slot cannot be made ready', async () => {
    const { calls, runtime } = engine();
    await expect(runtime.createAndStart({ name: 'f-slot-0' }, rejected('EBUSY: scratch'))).rejects.toThrow('EBUSY: scratch');
    expect(calls).toEqual(['create:f-slot-0', 'remove:c1']);
  });

  it('removes the container when it cannot start', async () => {
    const { calls, runtime } = engine({ startFails: new Error('OCI runtime create failed') });
    await expect(runtime.createAndStart({ name: 'f-slot-0' })).rejects.toThrow('OCI runtime create failed');
    expect(calls).toEqual(['create:f-slot-0', 'start:c1', 'remove:c1']);
  });

  it('reports the create error when both the create and the directories fail', async () => {
    const { calls, runtime } = engine({ createFails: new Error('Conflict. The container name is already in use') });
    await expect(runtime.createAndStart({ name: 'f-slot-0' }, rejected('EBUSY: scratch'))).rejects.toThrow('Conflict');
    expect(calls).toEqual(['create:f-slot-0']);
  });
});
