import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerUse, DockerApi, EngineKind, ImageDetails, LabelledContainer } from '../docker-api.js';
import type { EngineStorageInfo } from '../layer-storage.js';
import { LABELS } from '../placeholder.js';
import type { FakeContainerd } from './fake-containerd.js';

function sha(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * An engine that keeps images in memory and writes the layer database tree a real overlay2 engine would; given a
 * FakeContainerd, it uses the containerd image store instead (API 1.45: `GET /info` does not name the socket).
 */
export class FakeEngine implements DockerApi {
  readonly calls: string[] = [];
  /** Images by id; tags live on the images, as in the engine. */
  readonly images = new Map<string, ImageDetails>();
  readonly users = new Map<string, ContainerUse[]>();
  /** Which engine it plays, and (as podman) the containers running from a root of their own, with their labels. */
  kind: EngineKind = 'docker';
  readonly labelled: LabelledContainer[] = [];
  info: EngineStorageInfo;
  /** Like a build with --no-cache: identical content gives a new image id (and still the same layer). */
  noCache = false;
  private builds = 0;

  constructor(
    readonly dockerRootDir: string,
    readonly containerd?: FakeContainerd,
  ) {
    this.info = containerd
      ? { driver: 'overlayfs', driverStatus: [['driver-type', 'io.containerd.snapshotter.v1']], dockerRootDir }
      : { driver: 'overlay2', driverStatus: [['Backing Filesystem', 'extfs']], dockerRootDir };
  }

  async engine(): Promise<EngineKind> {
    return this.kind;
  }

  async containersLabelled(label: string): Promise<LabelledContainer[]> {
    return this.labelled.filter((c) => label in c.labels);
  }

  async storageInfo(): Promise<EngineStorageInfo> {
    this.calls.push('info');
    return this.info;
  }

  async inspectImage(ref: string): Promise<ImageDetails | undefined> {
    return this.images.get(ref) ?? this.byTag(ref);
  }

  byTag(tag: string): ImageDetails | undefined {
    return [...this.images.values()].find((image) => image.tags.includes(tag));
  }

  async listPlaceholders(): Promise<ImageDetails[]> {
    return [...this.images.values()].filter((image) => image.labels[LABELS.placeholder] === '1');
  }

  async buildImage(context: Buffer, tag: string, labels: Record<string, string>): Promise<string> {
    this.calls.push(`build ${tag}`);
    const diffId = `sha256:${sha(context)}`;
    let graphDriver: ImageDetails['graphDriver'];
    if (this.containerd) {
      await this.containerd.commit(diffId);
      graphDriver = { name: 'overlayfs', data: null };
    } else {
      const cacheId = sha(`cache ${diffId}`);
      const entry = path.join(this.dockerRootDir, 'image', 'overlay2', 'layerdb', 'sha256', diffId.slice(7));
      await mkdir(entry, { recursive: true });
      await writeFile(path.join(entry, 'cache-id'), cacheId);
      const layerDir = path.join(this.dockerRootDir, 'overlay2', cacheId, 'diff');
      await mkdir(layerDir, { recursive: true });
      graphDriver = { name: 'overlay2', data: { UpperDir: layerDir } };
    }
    const previous = this.byTag(tag);
    if (previous) previous.tags = previous.tags.filter((t) => t !== tag);
    const id = `sha256:${sha(`${diffId} ${JSON.stringify(labels)}${this.noCache ? this.builds++ : ''}`)}`;
    const cached = this.images.get(id);
    if (cached) {
      // The engine's build cache hands back the same image, now with one more tag.
      cached.tags.push(tag);
      return id;
    }
    const image: ImageDetails = {
      id,
      tags: [tag],
      labels,
      layers: [diffId],
      graphDriver,
      size: context.length,
    };
    this.images.set(image.id, image);
    return image.id;
  }

  /** Adds an image someone else built (not a placeholder). */
  addForeignImage(tag: string): void {
    const id = `sha256:${sha(tag)}`;
    this.images.set(id, { id, tags: [tag], labels: {}, layers: [], size: 0 });
  }

  async removeImage(id: string): Promise<void> {
    this.calls.push(`rmi ${id}`);
    this.images.delete(id);
  }

  async untag(ref: string): Promise<void> {
    this.calls.push(`untag ${ref}`);
    const image = this.byTag(ref);
    if (!image) return;
    image.tags = image.tags.filter((t) => t !== ref);
    if (image.tags.length === 0 && !this.users.get(image.id)?.length) this.images.delete(image.id);
  }

  async containersUsing(imageId: string): Promise<ContainerUse[]> {
    return this.users.get(imageId) ?? [];
  }
}
