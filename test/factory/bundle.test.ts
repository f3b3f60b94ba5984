// The installed command runs one bundled file through a code cache (packages/factory/scripts/bundle.mjs): it must
// start without reading node_modules, and the dockerode parts left out of it must still work when a site uses them.
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FACTORY_BIN } from '../support/factory-process.js';

const run = promisify(execFile);

/**
 * Runs the command by its #! line and returns its exit code, its stderr, every CommonJS file node loaded on the way
 * and the environment node ran it with.
 */
async function runBin(args: string[], env: Record<string, string> = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-bundle-'));
  try {
    const report = path.join(dir, 'loaded.cjs');
    await writeFile(
      report,
      `const env = { ...process.env };\n` +
        `const v8Tag = require('node:v8').cachedDataVersionTag();\n` +
        // Code compiled from a string at run time (zod's fast paths), which no code cache can hold.
        `let compiled = 0;\n` +
        `globalThis.Function = new Proxy(Function, { construct: (target, args) => (compiled++, Reflect.construct(target, args)) });\n` +
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(path.join(dir, 'loaded.json'))}, JSON.stringify({ loaded: Object.keys(require.cache), env, v8Tag, compiled })));\n`,
    );
    const result = await run(FACTORY_BIN, args, {
      env: { ...process.env, NODE_OPTIONS: `--require ${report}`, ...env },
      timeout: 60_000,
    }).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    const seen = JSON.parse(await readFile(path.join(dir, 'loaded.json'), 'utf8')) as { loaded: string[]; env: Record<string, string>; v8Tag: number; compiled: number };
    return { ...result, loaded: seen.loaded.filter((file) => file !== report), env: seen.env, v8Tag: seen.v8Tag, compiled: seen.compiled };
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

  it('runs through the code cache the build made when started by its #! line', async () => {
    const { code, stderr } = await runBin(['start', '--slots', 'x'], { DOCKER_CERNVM_FACTORY_CODE_CACHE: 'report' });
    expect({ code, stderr }).toEqual({ code: 2, stderr: 'code cache: used\nerror: --slots: expected a whole number of slots\n' });
  });

  it('gives node no V8 flags, so node’s own modules load through the code cache built into node', async () => {
    // The tag V8 checks a code cache against: its version, the CPU's features and every V8 flag. A flag on the #! line
    // (--max-semi-space-size=1 once was) makes node compile each of its modules from source, 3× slower here.
    const plainNode = await run(process.execPath, ['-p', "require('node:v8').cachedDataVersionTag()"], { env: { PATH: process.env.PATH ?? '' } });
    const { v8Tag } = await runBin(['start', '--slots', 'x']);
    expect(v8Tag).toBe(Number(plainNode.stdout));
  });

  it('checks its configuration without compiling code from strings: zod is jitless before any schema is built', async () => {
    // zod decides per schema, when it is built, whether to compile a fast path at its first parse: jitless set after
    // the schemas (once, in the entry's body) compiled one for each, at every start.
    const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-bundle-config-'));
    try {
      const config = path.join(dir, 'factory.yaml');
      await writeFile(config, 'slots: 1\nmounts:\n  - source: /cvmfs\n    target: /cvmfs\npilot:\n  bogus: 1\n');
      const { code, stderr, compiled } = await runBin(['start', '--config', config]);
      expect({ code, stderr }).toEqual({ code: 2, stderr: `error: ${config}: unknown key "pilot.bogus"\n` });
      expect(compiled).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('still writes docker-modem’s request lines when DEBUG names them (the bundle formats them only then)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-bundle-debug-'));
    try {
      const token = path.join(dir, 'pool.token');
      await writeFile(token, 'x\n', { mode: 0o600 });
      const args = ['start', '--slots', '0', '--image', 'docker-cernvm-test/never-built:1', '--token-file', token, '--state-dir', dir,
        '--socket', path.join(dir, 'control.sock'), '--listen', 'none'];
      const refused = 'error: no image docker-cernvm-test/never-built:1';
      const quiet = await runBin(args);
      expect(quiet.code).toBe(1);
      expect(quiet.stderr).toMatch(new RegExp(`^${refused}`));
      const debugged = await runBin(args, { DEBUG: 'modem' });
      expect(debugged.code).toBe(1);
      expect(debugged.stderr).toMatch(/modem Sending: \{\n {2}path: '\/images\/docker-cernvm-test\/never-built:1\/json'/);
      expect(debugged.stderr).toContain(refused);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is plain ASCII, which the launcher decodes as Latin-1', async () => {
    const bundle = await readFile(path.join(path.dirname(FACTORY_BIN), '..', 'dist', 'docker-cernvm-factory.cjs'));
    expect(bundle.length).toBeGreaterThan(100_000);
    expect(bundle.findIndex((byte) => byte > 0x7f)).toBe(-1);
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

  describe('an engine over TLS whose CA only NODE_EXTRA_CA_CERTS names', () => {
    // The launcher keeps node from parsing NODE_EXTRA_CA_CERTS at start (it costs 75-100 ms here); the factory hands
    // that bundle to such an engine itself (src/engine-client.ts). The engine here is a TLS server on 127.0.0.1 with a
    // self-signed certificate: it notes each request and answers 500, so the factory stops right after its first ones.
    async function withTlsEngine(test: (engine: { port: number; ca: string; dir: string; requests: string[] }) => Promise<void>) {
      const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-bundle-tls-'));
      const [key, ca] = [path.join(dir, 'key.pem'), path.join(dir, 'ca.pem')];
      await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', ca]);
      const requests: string[] = [];
      const server = createServer({ key: await readFile(key), cert: await readFile(ca) }, (request, response) => {
        requests.push(`${request.method} ${request.url}`);
        response.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"test engine: no engine here"}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        await writeFile(path.join(dir, 'pool.token'), 'x\n', { mode: 0o600 });
        await test({ port: (server.address() as AddressInfo).port, ca, dir, requests });
      } finally {
        server.close();
        await rm(dir, { recursive: true, force: true });
      }
    }

    const startArgs = (dir: string) => ['start', '--name', 'dcvm-test-bundle-tls', '--slots', '0', '--token-file', path.join(dir, 'pool.token'),
      '--state-dir', dir, '--socket', path.join(dir, 's.sock'), '--listen', 'none'];
    const tlsEnv = (port: number) => ({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '' });

    it('is trusted, while node starts without parsing that bundle', async () => {
      await withTlsEngine(async ({ port, ca, dir, requests }) => {
        const { code, stderr, env } = await runBin(startArgs(dir), { ...tlsEnv(port), NODE_EXTRA_CA_CERTS: ca });
        expect(env.NODE_EXTRA_CA_CERTS).toBeUndefined();
        expect(env.DOCKER_CERNVM_EXTRA_CA_CERTS).toBe(ca);
        expect(requests).toContain('GET /info');
        expect({ code, stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/test engine: no engine here/) });
      });
    });

    it('is refused without that bundle: the test engine’s certificate is not trusted by default', async () => {
      await withTlsEngine(async ({ port, dir, requests }) => {
        const { code, stderr } = await runBin(startArgs(dir), { ...tlsEnv(port), NODE_EXTRA_CA_CERTS: '' });
        expect(requests).toEqual([]);
        expect({ code, stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/self[- ]signed certificate/) });
      });
    });
  });
});
