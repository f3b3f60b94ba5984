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

describe('DockerodeRuntime.createAndStart', () => {
  it('makes the container, then starts it', async () => {
    const { calls, runtime } = engine();
    await expect(runtime.createAndStart({ name: 'f-slot-0' })).resolves.toBe('c1');
    expect(calls).toEqual(['create:f-slot-0', 'start:c1']);
  });

  it('removes the container when it cannot start', async () => {
    const { calls, runtime } = engine({ startFails: new Error('OCI runtime create failed') });
    await expect(runtime.createAndStart({ name: 'f-slot-0' })).rejects.toThrow('OCI runtime create failed');
    expect(calls).toEqual(['create:f-slot-0', 'start:c1', 'remove:c1']);
  });

  it('reports a failed create, with nothing to start or remove', async () => {
    const { calls, runtime } = engine({ createFails: new Error('Conflict. The container name is already in use') });
    await expect(runtime.createAndStart({ name: 'f-slot-0' })).rejects.toThrow('Conflict');
    expect(calls).toEqual(['create:f-slot-0']);
  });
});
