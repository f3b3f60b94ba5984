import { spawn } from 'node:child_process';
import { askEngineKind } from '@docker-cernvm/factory';
import Dockerode from 'dockerode';

/** Marks every container a test creates, so a later run can clean up after an interrupted one. */
export const TEST_LABEL = 'org.docker-cernvm.test';

export const docker = new Dockerode();
/** The host's Docker engine whatever DOCKER_HOST says: where the pool's central manager runs beside podman's slots. */
export const hostDocker = new Dockerode({ socketPath: '/var/run/docker.sock' });

async function engineAnswers(): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the real-engine tests run. In CI they always do (no engine there is a failure, not a skip); on a
 * developer's machine without an engine they are skipped, and say so.
 */
export async function realEngineAvailable(suite: string): Promise<boolean> {
  if (await engineAnswers()) return true;
  if (process.env.CI)
    throw new Error(`${suite}: no Docker engine answers, and CI is set: the real-engine tests must run`);
  console.warn(`${suite}: skipped, no Docker engine answers (set DOCKER_HOST or start dockerd)`);
  return false;
}

/** Whether DOCKER_HOST leads to podman's API service (scripts/podman.sh) rather than a dockerd. */
export async function engineIsPodman(): Promise<boolean> {
  return (await askEngineKind(docker)) === 'podman';
}

/**
 * Whether a podman-only suite runs: on Docker it is skipped, saying `why`; where scripts/test.sh's podman stage
 * sets DOCKER_CERNVM_EXPECT_PODMAN it must run, and Docker there is a failure instead.
 */
export async function podmanSuiteRuns(suite: string, why: string): Promise<boolean> {
  const engineUp = await realEngineAvailable(suite);
  const onPodman = engineUp && (await engineIsPodman());
  if (!onPodman && process.env.DOCKER_CERNVM_EXPECT_PODMAN)
    throw new Error(`${suite}: DOCKER_CERNVM_EXPECT_PODMAN is set but DOCKER_HOST does not lead to podman`);
  if (engineUp && !onPodman) console.warn(`${suite}: skipped, the engine is Docker (${why})`);
  return onPodman;
}

export interface RunOutput {
  exitCode: number;
  output: string;
}

/** Runs a command in a container from the image on the host network, returns its exit code and output. */
export async function runInImage(image: string, command: string[], name?: string): Promise<RunOutput> {
  const container = await createTestContainer(image, command, name);
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = await container.logs({ stdout: true, stderr: true });
    return { exitCode: StatusCode, output: demux(logs) };
  } finally {
    await container.remove({ force: true });
  }
}

/** Starts a long-running container from the image; the caller removes it. */
export async function startInImage(image: string, command: string[], name: string): Promise<Dockerode.Container> {
  const container = await createTestContainer(image, command, name);
  await container.start();
  return container;
}

/** A container labelled as a test's, on the host network (test traffic stays on 127.0.0.1). */
function createTestContainer(image: string, command: string[], name?: string): Promise<Dockerode.Container> {
  return docker.createContainer({
    Image: image,
    Cmd: command,
    name,
    Labels: { [TEST_LABEL]: '1' },
    HostConfig: { NetworkMode: 'host' },
  });
}

/** The root directory of a chrooted test engine (scripts/docker26.sh), or undefined for an engine in the host's root. */
export function chrootedEngineRoot(): string | undefined {
  const engineRoot = process.env.DOCKER_CERNVM_ENGINE_ROOT;
  return engineRoot && engineRoot !== '/' ? engineRoot : undefined;
}

/** Runs a command in a running container (as `user`, default root) and returns its exit code and output. */
export async function execIn(container: Dockerode.Container, command: string[], user = 'root'): Promise<RunOutput> {
  // On the chrooted test engine (scripts/docker26.sh) runc cannot pivot_root, and an exec lands in the host's root
  // directory instead of the container's: there the command runs through nsenter instead, as root.
  const engineRoot = chrootedEngineRoot();
  if (engineRoot) {
    if (user !== 'root' && user !== '0')
      throw new Error(
        `on the engine chrooted in ${engineRoot} a command in a container runs only as root, not ${user}`,
      );
    return enterContainer(container, command);
  }
  const exec = await container.exec({ Cmd: command, User: user, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const { ExitCode } = await exec.inspect();
  return { exitCode: ExitCode ?? -1, output: demux(Buffer.concat(chunks)) };
}

/**
 * Runs a command inside a running container's mount namespace with its root directory (nsenter, as root): what a
 * process of the container sees, without the engine's exec.
 */
async function enterContainer(container: Dockerode.Container, command: string[]): Promise<RunOutput> {
  const pid = (await container.inspect()).State.Pid;
  if (!pid) throw new Error(`container ${container.id} runs no process to enter`);
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', ['-t', String(pid), '-m', '-r', '-w', '--', ...command], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? -1, output: Buffer.concat(chunks).toString() }));
  });
}

/** Docker's multiplexed log stream: 8-byte frame headers before each chunk. */
export function demux(buffer: Buffer): string {
  let text = '';
  for (let offset = 0; offset + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(offset + 4);
    text += buffer.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return text;
}

/** Removes the containers earlier (possibly interrupted) test runs left. */
export async function removeTestContainers(): Promise<void> {
  const leftovers = await docker.listContainers({ all: true, filters: { label: [TEST_LABEL] } });
  await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
}
