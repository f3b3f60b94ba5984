import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { rootCertificates } from 'node:tls';
import { inspect } from 'node:util';
import Docker from 'dockerode';
import { EXTRA_CA_VARIABLE, EngineAgent, engineClient } from './engine-client.js';

const BUNDLE = '-----BEGIN CERTIFICATE-----\nsite CA\n-----END CERTIFICATE-----\n';

async function withBundle(test: (file: string) => void): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-extra-ca-'));
  try {
    const file = path.join(dir, 'extra.pem');
    await writeFile(file, BUNDLE);
    test(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const caOf = (docker: Docker) => (docker.modem as { ca?: unknown }).ca;

describe('engineClient', () => {
  it('gives an engine over TLS without a CA of its own node’s roots and the moved bundle', async () => {
    await withBundle((file) => {
      const docker = engineClient({ [EXTRA_CA_VARIABLE]: file }, new Docker({ protocol: 'https', host: '127.0.0.1', port: 2376 }));
      expect(caOf(docker)).toEqual([...rootCertificates, BUNDLE]);
    });
  });

  it('leaves an engine with its own CA (DOCKER_CERT_PATH) as it is', async () => {
    await withBundle((file) => {
      const docker = engineClient({ [EXTRA_CA_VARIABLE]: file }, new Docker({ protocol: 'https', host: '127.0.0.1', port: 2376, ca: 'own CA' }));
      expect(caOf(docker)).toBe('own CA');
    });
  });

  it('neither reads the bundle nor sets a CA for a unix socket or plain HTTP', () => {
    const missing = '/nonexistent/extra.pem';
    expect(caOf(engineClient({ [EXTRA_CA_VARIABLE]: missing }, new Docker({ socketPath: '/var/run/docker.sock' })))).toBeUndefined();
    expect(caOf(engineClient({ [EXTRA_CA_VARIABLE]: missing }, new Docker({ protocol: 'http', host: '127.0.0.1', port: 2375 })))).toBeUndefined();
  });

  it('sets nothing when there was no NODE_EXTRA_CA_CERTS (the launcher then moves an empty value)', () => {
    for (const env of [{}, { [EXTRA_CA_VARIABLE]: '' }]) {
      expect(caOf(engineClient(env, new Docker({ protocol: 'https', host: '127.0.0.1', port: 2376 })))).toBeUndefined();
    }
  });

  it('warns of a bundle it cannot read and trusts node’s roots, as node does', () => {
    const warnings: string[] = [];
    const docker = engineClient(
      { [EXTRA_CA_VARIABLE]: '/nonexistent/extra.pem' },
      new Docker({ protocol: 'https', host: '127.0.0.1', port: 2376 }),
      (message) => warnings.push(message),
    );
    expect(caOf(docker)).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/^Ignoring extra certs from `\/nonexistent\/extra\.pem`, load failed: ENOENT/)]);
  });

  it('gives a unix socket or plain HTTP engine an agent that works out no TLS server name, and keeps its connections', () => {
    for (const docker of [new Docker({ socketPath: '/var/run/docker.sock' }), new Docker({ protocol: 'http', host: '127.0.0.1', port: 2375 })]) {
      const agent = (engineClient({}, docker).modem as { agent?: Agent & { options: Record<string, unknown> } }).agent;
      expect(agent).toBeInstanceOf(Agent);
      expect(agent?.options).toMatchObject({ keepAlive: true, servername: '' });
    }
  });

  it('leaves the agent of a TLS engine, and an agent already given, as they are', () => {
    expect((engineClient({}, new Docker({ protocol: 'https', host: '127.0.0.1', port: 2376 })).modem as { agent?: unknown }).agent).toBeUndefined();
    const own = new Agent();
    expect((engineClient({}, new Docker({ socketPath: '/var/run/docker.sock', agent: own } as Docker.DockerOptions)).modem as { agent?: unknown }).agent).toBe(own);
  });

  it('shows its agent by name alone where docker-modem inspects each request (sockets and all, to any depth)', async () => {
    const agent = (engineClient({}, new Docker({ socketPath: '/var/run/docker.sock' })).modem as { agent?: unknown }).agent as EngineAgent;
    expect(agent).toBeInstanceOf(EngineAgent);
    // What docker-modem does before every request, with an agent that holds a socket.
    const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-agent-'));
    const server = createServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => server.listen(path.join(dir, 's.sock'), resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        request({ socketPath: path.join(dir, 's.sock'), path: '/', agent }, (response) => response.resume().on('end', resolve)).on('error', reject).end();
      });
      expect(inspect({ path: '/info', agent }, { showHidden: true, depth: null })).toBe("{ path: '/info', agent: EngineAgent }");
    } finally {
      agent.destroy();
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
