import { readFileSync } from 'node:fs';
import { Agent, type AgentOptions } from 'node:http';
import { inspect } from 'node:util';
import { rootCertificates } from 'node:tls';
import Docker from 'dockerode';

/**
 * Where the launcher (bin/docker-cernvm-factory.cjs) moves NODE_EXTRA_CA_CERTS to before node starts: node 20 reads
 * and parses that bundle, with its own roots, as every process starts (75-100 ms here, before the first container).
 */
export const EXTRA_CA_VARIABLE = 'DOCKER_CERNVM_EXTRA_CA_CERTS';

/**
 * Node's agent, shown by its name alone: docker-modem inspects every request's options, the agent included, to any
 * depth and with hidden properties, whether or not its debug output is on. Shown whole, an agent with a fill's
 * sockets open is tens of kilobytes of text per request; that was most of the factory's CPU in a fill of 64.
 */
export class EngineAgent extends Agent {
  [inspect.custom](): string {
    return 'EngineAgent';
  }
}

interface ModemSettings {
  protocol?: string;
  socketPath?: string;
  ca?: unknown;
  agent?: unknown;
}

/**
 * The Docker client as docker-modem sets it up from DOCKER_HOST and its friends, with two changes:
 * - An engine over TLS without a CA of its own (DOCKER_CERT_PATH) trusts node's default store, which
 *   NODE_EXTRA_CA_CERTS would have extended: it gets node's roots and the moved bundle, read now, as node would have.
 * - An engine without TLS (a unix socket, plain HTTP) gets an agent that names no TLS server. Node's agent otherwise
 *   works one out for every request by testing the Host header against its IPv6 pattern, and compiling that pattern
 *   took 5 ms of the first requests here, ahead of the first container. (Node's agent passes its own options on to
 *   every request it makes.)
 */
export function engineClient(
  env: NodeJS.ProcessEnv = process.env,
  docker: Docker = new Docker(),
  warn: (message: string) => void = (message) => process.emitWarning(message),
): Docker {
  const modem = docker.modem as ModemSettings;
  const plain = modem.socketPath !== undefined || modem.protocol === 'http';
  if (plain && modem.agent === undefined) modem.agent = new EngineAgent({ keepAlive: true, servername: '' } as AgentOptions);
  const extra = env[EXTRA_CA_VARIABLE];
  if (!extra || modem.protocol !== 'https' || modem.ca !== undefined) return docker;
  try {
    modem.ca = [...rootCertificates, readFileSync(extra, 'utf8')];
  } catch (error) {
    // What node does with a bundle it cannot read: it says so and trusts its own roots.
    warn(`Ignoring extra certs from \`${extra}\`, load failed: ${(error as Error).message}`);
  }
  return docker;
}
