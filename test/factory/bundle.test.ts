// The installed command runs one bundled file through a code cache (packages/factory/scripts/bundle.mjs): it must
// start without reading node_modules, and the dockerode parts left out of it must still work when a site uses them.
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FACTORY_BIN, FACTORY_NODE_FLAGS } from '../support/factory-process.js';

const run = promisify(execFile);

/** Runs the command and returns its exit code, its stderr and every CommonJS file node loaded on the way. */
async function runBin(args: string[], env: Record<string, string> = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-bundle-'));
  try {
    const report = path.join(dir, 'loaded.cjs');
    await writeFile(
      report,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(path.join(dir, 'loaded.json'))}, JSON.stringify(Object.keys(require.cache))));\n`,
    );
    const result = await run(process.execPath, ['--require', report, ...FACTORY_NODE_FLAGS, FACTORY_BIN, ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    }).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    const loaded = JSON.parse(await readFile(path.join(dir, 'loaded.json'), 'utf8')) as string[];
    return { ...result, loaded: loaded.filter((file) => file !== report) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('the bundled docker-cernvm-factory command', () => {
  it('is the package’s bin, and starts without loading anything from node_modules', async () => {
    expect(FACTORY_BIN).toMatch(/packages\/factory\/bin\/docker-cernvm-factory\.cjs$/);
    const { code, stderr, loaded } = await runBin(['start', '--slots', 'x']);
    expect({ code, stderr }).toEqual({ code: 2, stderr: 'error: --slots: expected a whole number of slots\n' });
    // The launcher itself is the one CommonJS file node loads; the bundle runs through vm, not require.
    expect(loaded).toEqual([FACTORY_BIN]);
  });

  it('runs through the code cache the build made, with the node flags of its #! line', async () => {
    const { code, stderr } = await runBin(['start', '--slots', 'x'], { DOCKER_CERNVM_FACTORY_CODE_CACHE: 'report' });
    expect({ code, stderr }).toEqual({ code: 2, stderr: 'code cache: used\nerror: --slots: expected a whole number of slots\n' });
  });

  it('loads ssh2 only for an ssh:// engine, and then reaches it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-bundle-token-'));
    try {
      const token = path.join(dir, 'pool.token');
      await writeFile(token, 'x\n', { mode: 0o600 });
      // Port 1 on this host refuses: the error is the connection's, so the ssh client was loaded and used.
      const { code, stderr, loaded } = await runBin(
        ['start', '--name', 'dcvm-test-bundle', '--slots', '0', '--token-file', token, '--state-dir', dir, '--socket', path.join(dir, 's.sock'), '--listen', 'none'],
        { DOCKER_HOST: 'ssh://nobody@127.0.0.1:1' },
      );
      expect(code).toBe(1);
      expect(stderr).toMatch(/^error: connect ECONNREFUSED 127\.0\.0\.1:1$/m);
      expect(loaded.some((file) => /node_modules\/ssh2\//.test(file))).toBe(true);
      expect(loaded.some((file) => /node_modules\/@grpc\//.test(file))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
