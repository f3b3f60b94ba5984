import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { docker } from './engine.js';
import { BUSYBOX } from './standin-repository.js';

export const SLOT_IMAGE = 'docker-cernvm-test/slot:1';

/**
 * The image's command (test/fixtures/slot.sh, which the benchmarks build the same image from): a stand-in pilot for
 * the factory's tests that runs until signalled. SIGUSR1 exits 0 after $SLOT_DRAIN_SECONDS,
 * SIGTERM exits 0, $SLOT_CRASH or a file /pilot/crash makes it exit 1 at once. Like the real entrypoint it writes a heartbeat into
 * /pilot/status every second; its state is Unclaimed unless the test writes another into /pilot/state.
 */
const SLOT_SCRIPT = fileURLToPath(new URL('../fixtures/slot.sh', import.meta.url));

const APPLETS = ['sh', 'sleep', 'date', 'printf', 'mv', 'cat', 'echo'];

/** Builds the slot image from scratch (static busybox and the script) on `engine`; no registry is needed. */
export async function buildSlotImage(engine: Dockerode = docker): Promise<string> {
  const context = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-slot-image-'));
  try {
    await mkdir(path.join(context, 'bin'));
    await copyFile(BUSYBOX, path.join(context, 'bin', 'busybox'));
    await chmod(path.join(context, 'bin', 'busybox'), 0o755);
    for (const applet of APPLETS) await symlink('busybox', path.join(context, 'bin', applet));
    await copyFile(SLOT_SCRIPT, path.join(context, 'slot.sh'));
    await chmod(path.join(context, 'slot.sh'), 0o755);
    await writeFile(
      path.join(context, 'Dockerfile'),
      'FROM scratch\nCOPY bin /bin\nCOPY slot.sh /slot.sh\nCMD ["/slot.sh"]\n',
    );
    const stream = await engine.buildImage({ context, src: ['Dockerfile', 'bin', 'slot.sh'] }, { t: SLOT_IMAGE });
    await new Promise<void>((resolve, reject) =>
      engine.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => {
        const failed = error ?? output.find((o) => o.error);
        if (failed) reject(failed instanceof Error ? failed : new Error(failed.error));
        else resolve();
      }),
    );
    return SLOT_IMAGE;
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}
