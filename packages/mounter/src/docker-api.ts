import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { MounterError } from './errors.js';
import type { ImageLayerInfo } from './layer-dir.js';
import type { EngineStorageInfo } from './layer-storage.js';
import { LABELS } from './placeholder.js';

/** A container that uses an image's layer (created from it or from an image built on it). */
export interface ContainerUse {
  id: string;
  name: string;
  state: string;
}

export interface ImageDetails extends ImageLayerInfo {
  tags: string[];
  labels: Record<string, string>;
  size: number;
}

export interface LabelledContainer extends ContainerUse {
  labels: Record<string, string>;
}

/** Which engine answers: dockerd, or podman's API service (which serves Docker's API too). */
export type EngineKind = 'docker' | 'podman';

/** Podman's API service marks its answers with the version of its own API; dockerd never does. */
export function engineKindOf(headers: IncomingHttpHeaders): EngineKind {
  return headers['libpod-api-version'] ? 'podman' : 'docker';
}

/**
 * Which engine answers, from the headers of `GET /_ping`: as cheap as a request gets, where podman's `/version`
 * first asks each of its OCI tools for its own version.
 */
export function askEngineKind(docker: Dockerode): Promise<EngineKind> {
  return new Promise((resolve, reject) =>
    docker.modem.dial(
      { path: '/_ping', method: 'GET', isStream: true, statusCodes: { 200: true } },
      (error: unknown, response: unknown) => {
        if (error) return reject(error);
        const answer = response as IncomingMessage;
        answer.resume(); // the body is "OK": read and dropped, so the connection is freed
        resolve(engineKindOf(answer.headers));
      },
    ),
  );
}

/** Everything the mounter asks of the Docker engine. The only module that speaks dockerode. */
export interface DockerApi {
  engine(): Promise<EngineKind>;
  storageInfo(): Promise<EngineStorageInfo>;
  /** undefined when no image has this name or id. */
  inspectImage(ref: string): Promise<ImageDetails | undefined>;
  listPlaceholders(): Promise<ImageDetails[]>;
  /** Builds from an in-memory tar context and returns the new image's id. */
  buildImage(context: Buffer, tag: string, labels: Record<string, string>): Promise<string>;
  removeImage(id: string): Promise<void>;
  /** Removes one tag; the engine deletes the image too when it was its last tag and no container uses it. */
  untag(ref: string): Promise<void>;
  containersUsing(imageId: string): Promise<ContainerUse[]>;
  /** Every container carrying the label, with its labels. */
  containersLabelled(label: string): Promise<LabelledContainer[]>;
}

interface BuildMessage {
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error
    ? Number((error as { statusCode: unknown }).statusCode)
    : undefined;
}

export class DockerodeApi implements DockerApi {
  /** The engine behind the socket does not change: asked once, and again only after a failed ask. */
  private kind: Promise<EngineKind> | undefined;

  constructor(private readonly docker: Dockerode) {}

  engine(): Promise<EngineKind> {
    if (!this.kind) {
      this.kind = askEngineKind(this.docker);
      this.kind.catch(() => (this.kind = undefined));
    }
    return this.kind;
  }

  async storageInfo(): Promise<EngineStorageInfo> {
    const info = (await this.docker.info()) as {
      Driver?: string;
      DriverStatus?: Array<[string, string]> | null;
      DockerRootDir?: string;
      // From API 1.46 on; older engines leave it out.
      Containerd?: { Address?: string; Namespaces?: { Containers?: string } } | null;
    };
    return {
      driver: info.Driver ?? '',
      driverStatus: info.DriverStatus ?? [],
      dockerRootDir: info.DockerRootDir ?? '',
      containerdAddress: info.Containerd?.Address || undefined,
      containerdNamespace: info.Containerd?.Namespaces?.Containers || undefined,
    };
  }

  async inspectImage(ref: string): Promise<ImageDetails | undefined> {
    try {
      const image = await this.docker.getImage(ref).inspect();
      return {
        id: image.Id,
        tags: image.RepoTags ?? [],
        labels: image.Config?.Labels ?? {},
        layers: image.RootFS?.Layers ?? [],
        graphDriver: image.GraphDriver
          ? { name: image.GraphDriver.Name, data: (image.GraphDriver.Data as Record<string, string> | null) ?? null }
          : undefined,
        size: image.Size,
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async listPlaceholders(): Promise<ImageDetails[]> {
    const summaries = await this.docker.listImages({ filters: { label: [`${LABELS.placeholder}=1`] } });
    const details = await Promise.all(summaries.map((summary) => this.inspectImage(summary.Id)));
    return details.filter((image): image is ImageDetails => image !== undefined);
  }

  async buildImage(context: Buffer, tag: string, labels: Record<string, string>): Promise<string> {
    const stream = await this.docker.buildImage(Readable.from([context]), {
      t: tag,
      labels,
      rm: true,
      forcerm: true,
      pull: false,
    } as Dockerode.ImageBuildOptions);
    const messages = await new Promise<BuildMessage[]>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (error: Error | null, output: BuildMessage[]) =>
        error ? reject(error) : resolve(output),
      );
    });
    // A failed build can end its stream without an error: the failure is only in the messages.
    const failure = messages.find((message) => message.errorDetail || message.error);
    if (failure) {
      throw new MounterError(
        'E_BUILD_FAILED',
        `the engine could not build ${tag}: ${failure.errorDetail?.message ?? failure.error}`,
      );
    }
    const built = await this.inspectImage(tag);
    if (!built) throw new MounterError('E_BUILD_FAILED', `the engine reported no image ${tag} after building it`);
    return built.id;
  }

  async removeImage(id: string): Promise<void> {
    await this.docker.getImage(id).remove({ force: true });
  }

  async untag(ref: string): Promise<void> {
    await this.docker.getImage(ref).remove();
  }

  async containersUsing(imageId: string): Promise<ContainerUse[]> {
    const containers = await this.docker.listContainers({ all: true, filters: { ancestor: [imageId] } });
    return containers.map(containerUseOf);
  }

  async containersLabelled(label: string): Promise<LabelledContainer[]> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [label] } });
    return containers.map((container) => ({ ...containerUseOf(container), labels: container.Labels ?? {} }));
  }
}

function containerUseOf(container: Dockerode.ContainerInfo): ContainerUse {
  return {
    id: container.Id,
    name: (container.Names?.[0] ?? container.Id.slice(0, 12)).replace(/^\//, ''),
    state: container.State,
  };
}
