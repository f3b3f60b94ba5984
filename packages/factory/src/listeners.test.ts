import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FactoryError } from './errors.js';
import type { ObservationSources } from './http-server.js';
import { openListeners } from './listeners.js';
import { FactoryMetrics } from './metrics.js';

const tmp = await mkdtemp(path.join(tmpdir(), 'factory-listeners-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

const handle = async () => ({});
const sources: ObservationSources = {
  metrics: new FactoryMetrics(),
  health: () => ({ healthy: true, reason: 'ok' }),
  status: () => ({}),
  refresh: async () => undefined,
};
let count = 0;
const socketPath = () => path.join(tmp, `f-${++count}.sock`);

/** A port something else already holds on 127.0.0.1. */
async function takenPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe('openListeners', () => {
  it('opens the control socket and the HTTP listener together', async () => {
    const { control, http } = await openListeners(socketPath(), handle, '127.0.0.1:0', sources);
    expect(existsSync(control.socketPath)).toBe(true);
    expect(http?.address.address).toBe('127.0.0.1');
    expect(http?.address.port).toBeGreaterThan(0);
    await Promise.all([control.close(), http?.close()]);
  });

  it('opens no HTTP listener with none', async () => {
    const { control, http } = await openListeners(socketPath(), handle, 'none', sources);
    expect(http).toBeUndefined();
    await control.close();
  });

  it('refuses a taken HTTP port with the --listen value and closes the control socket it opened', async () => {
    const { server, port } = await takenPort();
    const at = socketPath();
    try {
      const opening = openListeners(at, handle, `127.0.0.1:${port}`, sources);
      await expect(opening).rejects.toThrow(FactoryError);
      await expect(opening).rejects.toThrow(
        new RegExp(`^--listen 127\\.0\\.0\\.1:${port}: cannot listen there \\(.*EADDRINUSE`),
      );
      await expect(opening).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
      expect(existsSync(at)).toBe(false);
    } finally {
      server.close();
    }
  });

  it('reports the control socket refusal when both fail, and closes nothing it did not open', async () => {
    const { server, port } = await takenPort();
    const first = await openListeners(socketPath(), handle, 'none', sources);
    try {
      await expect(openListeners(first.control.socketPath, handle, `127.0.0.1:${port}`, sources)).rejects.toMatchObject(
        {
          code: 'E_ALREADY_RUNNING',
        },
      );
      expect(existsSync(first.control.socketPath)).toBe(true);
    } finally {
      server.close();
      await first.control.close();
    }
  });
});
