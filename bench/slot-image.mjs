// The benchmarks' slot image: the tests' stand-in pilot (test/fixtures/slot.sh) on a static busybox, built from
// scratch, so no registry is needed. The same image as test/support/slot-image.ts makes, under the same tag.
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SLOT_IMAGE = 'docker-cernvm-test/slot:1';
const SLOT_SCRIPT = fileURLToPath(new URL('../test/fixtures/slot.sh', import.meta.url));
const APPLETS = ['sh', 'sleep', 'date', 'printf', 'mv', 'cat', 'echo'];

/** Builds the slot image on `docker` (a Dockerode client) and returns its tag. */
export async function buildSlotImage(docker) {
  const context = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-bench-slot-image-'));
  try {
    await mkdir(path.join(context, 'bin'));
    await copyFile('/bin/busybox', path.join(context, 'bin', 'busybox'));
    await chmod(path.join(context, 'bin', 'busybox'), 0o755);
    for (const applet of APPLETS) await symlink('busybox', path.join(context, 'bin', applet));
    await copyFile(SLOT_SCRIPT, path.join(context, 'slot.sh'));
    await chmod(path.join(context, 'slot.sh'), 0o755);
    await writeFile(
      path.join(context, 'Dockerfile'),
      'FROM scratch\nCOPY bin /bin\nCOPY slot.sh /slot.sh\nCMD ["/slot.sh"]\n',
    );
    const stream = await docker.buildImage({ context, src: ['Dockerfile', 'bin', 'slot.sh'] }, { t: SLOT_IMAGE });
    await new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (error, output) => {
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
