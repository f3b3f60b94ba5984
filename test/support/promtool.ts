import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Whether Prometheus's promtool is here (Debian's `prometheus` package; scripts/ensure-engine.sh installs it). In CI
 * it must be; elsewhere its tests are skipped, and say so.
 */
export async function promtoolAvailable(suite: string): Promise<boolean> {
  try {
    await run('promtool', ['--version']);
    return true;
  } catch {
    if (process.env.CI) throw new Error(`${suite}: no promtool, and CI is set: apt-get install prometheus`);
    console.warn(`${suite}: skipped, no promtool (apt-get install prometheus)`);
    return false;
  }
}

/** Runs promtool; resolves with its exit code and what it printed, both streams together. */
export async function promtool(args: string[], cwd?: string): Promise<{ exitCode: number; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd, maxBuffer: 1 << 22 });
    return { exitCode: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { exitCode: typeof failed.code === 'number' ? failed.code : 1, output: `${failed.stdout}${failed.stderr}` };
  }
}
