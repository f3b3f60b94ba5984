// Mount and unmount of a CernVM root through docker-cernvm, beside a baseline of the bare mount(8)/umount(8)
// calls a bind needs, alternating in one run on the real engine. Prints a markdown table and writes JSON.
// Run as root with a Docker engine: `npm run build && npm run bench` (ITERATIONS=50 by default).
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { createMounter } from '@docker-cernvm/mounter';

const run = promisify(execFile);
const iterations = Number(process.env.ITERATIONS ?? 50);
const repository = 'cernvm-prod.bench.invalid';
const tag = 'docker-cernvm-bench/cernvm:4';

const tmp = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-bench-'));
const root = path.join(tmp, 'cvmfs', repository, 'cvm4');
await mkdir(path.join(root, 'bin'), { recursive: true });
await copyFile('/bin/busybox', path.join(root, 'bin', 'busybox'));
await symlink('busybox', path.join(root, 'bin', 'sh'));
await writeFile(path.join(root, '.installed_cernvm-system-4.7.1.0'), '');
const baselineTarget = path.join(tmp, 'baseline-target');
await mkdir(baselineTarget);

const mounter = createMounter({ paths: { cvmfsDir: path.join(tmp, 'cvmfs') } });
const { imageId } = await mounter.register({ tag, repository });

const samples = { mount: [], unmount: [], baselineMount: [], baselineUnmount: [] };
const time = async (list, action) => {
  const start = process.hrtime.bigint();
  await action();
  list.push(Number(process.hrtime.bigint() - start) / 1e6);
};
try {
  for (let i = 0; i < iterations; i += 1) {
    await time(samples.mount, () => mounter.mount({ tag }));
    await time(samples.unmount, () => mounter.unmountAll({ repository }));
    await time(samples.baselineMount, async () => {
      await run('mount', ['--bind', root, baselineTarget]);
      await run('mount', ['-o', 'remount,bind,ro', baselineTarget]);
    });
    await time(samples.baselineUnmount, () => run('umount', [baselineTarget]));
  }
} finally {
  await mounter.unmountAll({ repository }).catch(() => undefined);
  await run('umount', [baselineTarget]).catch(() => undefined);
}
const size = (await new Dockerode().getImage(imageId).inspect()).Size;
await mounter.prune();
await rm(tmp, { recursive: true, force: true });

const quantile = (list, q) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(q * list.length))];
const row = (name, ours, baseline, target) => {
  const p50 = quantile(ours, 0.5);
  const base = quantile(baseline, 0.5);
  return { name, p50, p95: quantile(ours, 0.95), baselineP50: base, ratio: p50 / base, target };
};
const results = {
  iterations,
  placeholderBytes: size,
  rows: [
    row('mount (register exists, bind + read-only)', samples.mount, samples.baselineMount, '≤ 100 ms'),
    row('unmount-all (one bind)', samples.unmount, samples.baselineUnmount, '≤ 100 ms'),
  ],
};
const ms = (v) => `${v.toFixed(1)} ms`;
console.log(`| operation | p50 | p95 | baseline p50 (bare mount/umount) | ratio | target |`);
console.log(`| --- | --- | --- | --- | --- | --- |`);
for (const r of results.rows) {
  console.log(
    `| ${r.name} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.baselineP50)} | ${r.ratio.toFixed(2)}× | ${r.target} |`,
  );
}
console.log(`\nplaceholder image: ${size} bytes (target ≤ 1024); ${iterations} iterations, alternating`);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL('./results/mount-unmount.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
