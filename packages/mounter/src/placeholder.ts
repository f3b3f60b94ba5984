import { pack } from 'tar-stream';

/** Labels every placeholder carries: they record what it stands for, and mark it as ours. */
export const LABEL_PREFIX = 'org.docker-cernvm';
export const LABELS = {
  placeholder: `${LABEL_PREFIX}.placeholder`,
  repository: `${LABEL_PREFIX}.repository`,
  snapshot: `${LABEL_PREFIX}.snapshot`,
} as const;

/**
 * On podman a slot runs from a CernVM root itself (podman's rootfs), not from a placeholder: the factory labels such a
 * container with the root's host directory, which is how `status` finds the roots in use.
 */
export const ROOTFS_LABEL = `${LABEL_PREFIX}.rootfs`;

/** Where placeholders registered before the repository label was named so keep it; read, never written. */
export const FORMER_REPOSITORY_LABEL = `${LABEL_PREFIX}.branch`;

/** The file inside the placeholder; its content differs per (repository, snapshot), so each pair gets its own layer. */
export const PLACEHOLDER_FILE = '.docker-cernvm-placeholder';

/** What a placeholder stands for. An absent snapshot means the repository's current state. */
export interface PlaceholderPair {
  repository: string;
  snapshot?: string;
}

export function placeholderLabels(pair: PlaceholderPair): Record<string, string> {
  return {
    [LABELS.placeholder]: '1',
    [LABELS.repository]: pair.repository,
    [LABELS.snapshot]: pair.snapshot ?? '',
  };
}

/** Reads the pair back from an image's labels; undefined when the image is not a placeholder of ours. */
export function pairFromLabels(labels: Record<string, string> | null | undefined): PlaceholderPair | undefined {
  const repository = labels?.[LABELS.repository] || labels?.[FORMER_REPOSITORY_LABEL];
  if (labels?.[LABELS.placeholder] !== '1' || !repository) return undefined;
  const snapshot = labels[LABELS.snapshot];
  return snapshot ? { repository, snapshot } : { repository };
}

/** The pair of a placeholder image. An image built FROM a placeholder inherits its labels but has more layers. */
export function placeholderPairOf(image: { labels: Record<string, string>; layers: readonly string[] }) {
  return image.layers.length === 1 ? pairFromLabels(image.labels) : undefined;
}

export function samePair(a: PlaceholderPair, b: PlaceholderPair): boolean {
  return a.repository === b.repository && (a.snapshot ?? '') === (b.snapshot ?? '');
}

export function describePair(pair: PlaceholderPair): string {
  return pair.snapshot ? `${pair.repository}@${pair.snapshot}` : pair.repository;
}

export function placeholderContent(pair: PlaceholderPair): string {
  return [
    'This directory is a docker-cernvm mount point: a CernVM root from CernVM-FS is bound over it.',
    `repository=${pair.repository}`,
    `snapshot=${pair.snapshot ?? ''}`,
    '',
  ].join('\n');
}

const DOCKERFILE = `FROM scratch\nCOPY ${PLACEHOLDER_FILE} /${PLACEHOLDER_FILE}\n`;

/**
 * The build context for the placeholder, as an in-memory tar. A fixed mtime keeps the layer byte-identical
 * across builds of the same pair.
 */
export async function placeholderBuildContext(pair: PlaceholderPair): Promise<Buffer> {
  const tar = pack();
  const mtime = new Date(0);
  tar.entry({ name: 'Dockerfile', mtime, mode: 0o644 }, DOCKERFILE);
  tar.entry({ name: PLACEHOLDER_FILE, mtime, mode: 0o444 }, placeholderContent(pair));
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
