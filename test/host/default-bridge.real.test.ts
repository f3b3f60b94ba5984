import { describe, expect, it } from '@jest/globals';
import { TEST_LABEL, demux, docker, realEngineAvailable } from '../support/engine.js';
import { buildSlotImage } from '../support/slot-image.js';

const engineUp = await realEngineAvailable("the host engine's default bridge");
const describeEngine = engineUp ? describe : describe.skip;

// A second engine started with --bridge=none deletes the host's docker0, and then every container on the default
// network fails to start. scripts/test.sh runs this file again after the suites that start second engines.
describeEngine("the host engine's default bridge", () => {
  it('still serves a container: it starts on the default network and has its eth0', async () => {
    const image = await buildSlotImage();
    const container = await docker.createContainer({
      Image: image,
      Cmd: ['cat', '/proc/net/dev'],
      Labels: { [TEST_LABEL]: '1' },
      HostConfig: { NetworkMode: 'default' },
    });
    try {
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      const output = demux(await container.logs({ stdout: true, stderr: true }));
      expect({ StatusCode, output }).toMatchObject({ StatusCode: 0, output: expect.stringMatching(/^\s*eth0:/m) });
    } finally {
      await container.remove({ force: true });
    }
  });
});
