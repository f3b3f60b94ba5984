import { MounterError } from './errors.js';

// Every name that ends up in a path or on a command line passes one of these checks first.

/** A CVMFS fully qualified repository name: DNS labels, at least two, lower case. */
const REPOSITORY = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** A CVMFS tag name: no slash, no leading dot or dash, so it is always one plain path component. */
const SNAPSHOT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Docker's reference grammar for a repository path (no registry port) and a tag. */
const IMAGE_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const IMAGE_NAME = new RegExp(`^${IMAGE_COMPONENT}(?:/${IMAGE_COMPONENT})*$`);
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** One component of a root sub-path inside the repository. */
const PATH_COMPONENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/**
 * A rejected value as it appears in a message: quoted, with everything but printable ASCII escaped (JSON leaves
 * U+2028, DEL and C1 controls raw), so the message stays one line and a look-alike character shows as itself.
 */
export function quoted(value: string): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function checkRepository(repository: string): string {
  if (repository.length > 253 || !REPOSITORY.test(repository)) {
    throw new MounterError(
      'E_BAD_NAME',
      `invalid repository name ${quoted(repository)}: expected a fully qualified name such as cernvm-prod.cern.ch`,
    );
  }
  return repository;
}

export function checkSnapshot(snapshot: string): string {
  if (!SNAPSHOT.test(snapshot)) {
    throw new MounterError(
      'E_BAD_NAME',
      `invalid snapshot name ${quoted(snapshot)}: expected letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return snapshot;
}

export interface ImageRef {
  name: string;
  tag: string;
}

/** Parses NAME[:TAG]; the tag defaults to `latest` as in Docker. */
export function parseImageRef(ref: string): ImageRef {
  const colon = ref.lastIndexOf(':');
  const name = colon === -1 ? ref : ref.slice(0, colon);
  const tag = colon === -1 ? 'latest' : ref.slice(colon + 1);
  if (name.length > 255 || !IMAGE_NAME.test(name) || !IMAGE_TAG.test(tag)) {
    throw new MounterError(
      'E_BAD_NAME',
      `invalid image name ${quoted(ref)}: expected NAME[:TAG] in lower case, such as cernvm:4 or site/cernvm:prod`,
    );
  }
  return { name, tag };
}

export function formatImageRef(ref: ImageRef): string {
  return `${ref.name}:${ref.tag}`;
}

/** The CernVM root inside a repository: `cvm4`, `cvm3`, or a relative path of plain components. */
export function checkRootPath(root: string): string {
  const parts = root.split('/');
  if (root.length === 0 || root.length > 1024 || parts.some((p) => !PATH_COMPONENT.test(p))) {
    throw new MounterError(
      'E_BAD_NAME',
      `invalid CernVM root ${quoted(root)}: expected cvm4, cvm3 or a relative path inside the repository such as cvm4`,
    );
  }
  return root;
}
