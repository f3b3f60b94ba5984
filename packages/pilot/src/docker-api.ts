import Docker from 'dockerode';
import type { PilotContainerSpec } from './container-spec.js';
import { pilotContainerOptions } from './container-spec.js';

/** The Docker operations one foreground pilot needs; the only dockerode module of this package. */
export interface PilotEngine {
  imageExists(name: string): Promise<boolean>;
  containerExists(name: string): Promise<boolean>;
  create(spec: PilotContainerSpec): Promise<string>;
  start(id: string): Promise<void>;
  /** Streams the container's output (stdout and stderr, demultiplexed) until it ends. */
  followLogs(id: string, stdout: (text: string) => void, stderr: (text: string) => void): Promise<void>;
  signal(id: string, signal: string): Promise<void>;
  /** Resolves with the exit code once the container has stopped. */
  wait(id: string): Promise<number>;
  remove(id: string): Promise<void>;
}

function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number }).statusCode === 404;
}

export class DockerodePilotEngine implements PilotEngine {
  constructor(private readonly docker: Docker = new Docker()) {}

  async imageExists(name: string): Promise<boolean> {
    try {
      await this.docker.getImage(name).inspect();
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async containerExists(name: string): Promise<boolean> {
    try {
      await this.docker.getContainer(name).inspect();
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async create(spec: PilotContainerSpec): Promise<string> {
    const container = await this.docker.createContainer(pilotContainerOptions(spec));
    return container.id;
  }

  async start(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  async followLogs(id: string, stdout: (text: string) => void, stderr: (text: string) => void): Promise<void> {
    const stream = await this.docker.getContainer(id).logs({ follow: true, stdout: true, stderr: true });
    const writer = (write: (text: string) => void) =>
      ({ write: (chunk: Buffer) => (write(chunk.toString('utf8')), true) }) as unknown as NodeJS.WritableStream;
    this.docker.modem.demuxStream(stream, writer(stdout), writer(stderr));
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
  }

  async signal(id: string, signal: string): Promise<void> {
    await this.docker.getContainer(id).kill({ signal });
  }

  async wait(id: string): Promise<number> {
    const result = (await this.docker.getContainer(id).wait()) as { StatusCode: number };
    return result.StatusCode;
  }

  async remove(id: string): Promise<void> {
    await this.docker.getContainer(id).remove({ force: true });
  }
}
