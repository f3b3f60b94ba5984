import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import Docker from 'dockerode';

/**
 * Where the launcher (bin/docker-cernvm-factory.cjs) moves NODE_EXTRA_CA_CERTS to before node starts: node 20 reads
 * and parses that bundle, with its own roots, as every process starts (75-100 ms here, before the first container).
 */
export const EXTRA_CA_VARIABLE = 'DOCKER_CERNVM_EXTRA_CA_CERTS';

interface ModemTls {
  protocol?: string;
  ca?: unknown;
}

/**
 * The Docker client as docker-modem sets it up from DOCKER_HOST and its friends. Its CA comes from DOCKER_CERT_PATH;
 * only an engine over TLS without one trusts node's default store, which NODE_EXTRA_CA_CERTS would have extended:
 * that engine gets node's roots and the moved bundle, read now, as node would have read them.
 */
export function engineClient(
  env: NodeJS.ProcessEnv = process.env,
  docker: Docker = new Docker(),
  warn: (message: string) => void = (message) => process.emitWarning(message),
): Docker {
  const modem = docker.modem as ModemTls;
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
