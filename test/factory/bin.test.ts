// The installed command (the package's `bin`, which runs the compiled dist/cli/bin.js) as a process. No Docker
// engine: the only engine these tests reach is a TLS server of their own on 127.0.0.1.
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FACTORY_BIN } from '../support/factory-process.js';

const run = promisify(execFile);

/** Runs the command with this node and returns its exit code and output. */
async function runBin(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [FACTORY_BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

describe('the docker-cernvm-factory command', () => {
  it('is the package’s committed bin file, with a #! line for node', async () => {
    expect(FACTORY_BIN).toMatch(/packages\/factory\/bin\/docker-cernvm-factory\.js$/);
    expect((await readFile(FACTORY_BIN, 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('prints its help and exits 0', async () => {
    const { code, stdout } = await runBin(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^docker-cernvm-factory <command> \[options\]/);
    expect(stdout).toContain('docker-cernvm-factory start');
  });

  it('refuses a bad argument with exit 2 before touching the engine', async () => {
    const { code, stderr } = await runBin(['start', '--slots', 'x']);
    expect({ code, stderr }).toEqual({ code: 2, stderr: 'error: --slots: expected a whole number of slots\n' });
  });

  describe('an engine over TLS', () => {
    // A TLS server on 127.0.0.1 with a self-signed certificate: it notes each request and answers 500, so the
    // factory stops right after its first ones. Its certificate also serves as the client's in DOCKER_CERT_PATH.
    async function withTlsEngine(
      test: (engine: { port: number; dir: string; certDir: string; requests: string[] }) => Promise<void>,
    ) {
      const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-bin-tls-'));
      const certDir = path.join(dir, 'certs');
      await mkdir(certDir);
      const [key, cert] = [path.join(certDir, 'key.pem'), path.join(certDir, 'cert.pem')];
      await run('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ]);
      await writeFile(path.join(certDir, 'ca.pem'), await readFile(cert));
      const requests: string[] = [];
      const server = createServer({ key: await readFile(key), cert: await readFile(cert) }, (request, response) => {
        requests.push(`${request.method} ${request.url}`);
        response
          .writeHead(500, { 'content-type': 'application/json' })
          .end('{"message":"test engine: no engine here"}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        await writeFile(path.join(dir, 'pool.token'), 'x\n', { mode: 0o600 });
        await test({ port: (server.address() as AddressInfo).port, dir, certDir, requests });
      } finally {
        server.close();
        await rm(dir, { recursive: true, force: true });
      }
    }

    const startArgs = (dir: string) => [
      'start',
      '--name',
      'dcvm-test-bin-tls',
      '--slots',
      '0',
      '--token-file',
      path.join(dir, 'pool.token'),
      '--state-dir',
      dir,
      '--socket',
      path.join(dir, 's.sock'),
      '--listen',
      'none',
    ];
    const tlsEnv = (port: number, certPath = '') => ({
      DOCKER_HOST: `tcp://127.0.0.1:${port}`,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: certPath,
    });

    it('is trusted with its CA in DOCKER_CERT_PATH, as dockerode reads it', async () => {
      await withTlsEngine(async ({ port, dir, certDir, requests }) => {
        const { code, stderr } = await runBin(startArgs(dir), { ...tlsEnv(port, certDir), NODE_EXTRA_CA_CERTS: '' });
        expect(requests).toContain('GET /_ping');
        expect({ code, stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/test engine: no engine here/) });
      });
    });

    it('is trusted with its CA in NODE_EXTRA_CA_CERTS, as node reads it', async () => {
      await withTlsEngine(async ({ port, dir, certDir, requests }) => {
        const { code, stderr } = await runBin(startArgs(dir), {
          ...tlsEnv(port),
          NODE_EXTRA_CA_CERTS: path.join(certDir, 'ca.pem'),
        });
        expect(requests).toContain('GET /_ping');
        expect({ code, stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/test engine: no engine here/) });
      });
    });

    it('is refused when nothing names its CA', async () => {
      await withTlsEngine(async ({ port, dir, requests }) => {
        const { code, stderr } = await runBin(startArgs(dir), { ...tlsEnv(port), NODE_EXTRA_CA_CERTS: '' });
        expect(requests).toEqual([]);
        expect({ code, stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/self[- ]signed certificate/) });
      });
    });
  });
});
