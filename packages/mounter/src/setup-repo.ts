import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MounterError } from './errors.js';
import { isFile } from './fs-checks.js';
import { checkRepository, checkSnapshot, quoted } from './names.js';
import { checkDirectoryOption } from './repository.js';

/** The Stratum 0 that serves the CernVM repositories; `@fqrn@` is the client's own placeholder. */
export const DEFAULT_SERVER_URL = 'http://hepvm.cern.ch/cvmfs/@fqrn@';
/** Where the repository's public key is fetched from when the host lacks it; `@fqrn@` is replaced. */
export const DEFAULT_KEYS_URL = 'http://hepvm.cern.ch/cvmfs/@fqrn@.pub';

export interface SetupRepoRequest {
  repository: string;
  serverUrl?: string;
  keysUrl?: string;
  /** Pins the repository to a tag: the mount then never updates. */
  snapshot?: string;
  /** The client's configuration directory (`/etc/cvmfs`). */
  configDir?: string;
  dryRun?: boolean;
}

/** What setup-repo writes, or would write with a dry run. */
export interface SetupRepoPlan {
  configFile: string;
  configText: string;
  keyFile: string;
  /** undefined when the key is already there. */
  keyUrl: string | undefined;
}

export type FetchBytes = (url: string) => Promise<Buffer>;

const fetchBytes: FetchBytes = async (url) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  return Buffer.from(await response.arrayBuffer());
};

function checkUrl(url: string, option: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.replaceAll('@fqrn@', 'fqrn'));
  } catch {
    throw new MounterError('E_BAD_OPTION', `invalid ${option} ${quoted(url)}: expected an http(s) URL`);
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || /[\s"'`$\\]/.test(url)) {
    throw new MounterError('E_BAD_OPTION', `invalid ${option} ${quoted(url)}: expected an http(s) URL`);
  }
  return url;
}

/** Plans the client configuration for a CernVM repository: every input is checked before anything is written. */
export async function planSetupRepo(request: SetupRepoRequest): Promise<SetupRepoPlan> {
  const repository = checkRepository(request.repository);
  const serverUrl = checkUrl(request.serverUrl ?? DEFAULT_SERVER_URL, '--server-url');
  const keysUrl = checkUrl(request.keysUrl ?? DEFAULT_KEYS_URL, '--keys-url');
  const snapshot = request.snapshot === undefined ? undefined : checkSnapshot(request.snapshot);
  // It is written into CVMFS_PUBLIC_KEY="…" of a file the client sources as shell: plain characters only.
  const configDir = checkDirectoryOption('--cvmfs-config-dir', request.configDir ?? '/etc/cvmfs');
  const domain = repository.split('.').slice(1).join('.');
  const keyFile = path.join(configDir, 'keys', domain, `${repository}.pub`);
  const lines = [
    '# Written by docker-cernvm setup-repo',
    `CVMFS_SERVER_URL="${serverUrl}"`,
    `CVMFS_PUBLIC_KEY="${keyFile}"`,
    // Keep the repository's own owners, so setuid tools such as sudo work inside containers.
    'CVMFS_CLAIM_OWNERSHIP=no',
    ...(snapshot ? [`CVMFS_REPOSITORY_TAG="${snapshot}"`] : []),
    '',
  ];
  return {
    configFile: path.join(configDir, 'config.d', `${repository}.local`),
    configText: lines.join('\n'),
    keyFile,
    keyUrl: (await isFile(keyFile)) ? undefined : keysUrl.replaceAll('@fqrn@', repository),
  };
}

/** Writes the plan: the key first (a config naming a missing key would fail at mount time). */
export async function applySetupRepo(plan: SetupRepoPlan, fetch: FetchBytes = fetchBytes): Promise<void> {
  if (plan.keyUrl) {
    let key: Buffer;
    try {
      key = await fetch(plan.keyUrl);
    } catch (cause) {
      throw new MounterError(
        'E_FETCH_FAILED',
        `could not fetch the public key from ${plan.keyUrl}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    if (!key.toString('utf8').includes('-----BEGIN PUBLIC KEY-----')) {
      throw new MounterError('E_FETCH_FAILED', `${plan.keyUrl} did not return a PEM public key`);
    }
    await mkdir(path.dirname(plan.keyFile), { recursive: true });
    await writeFile(plan.keyFile, key, { mode: 0o644 });
  }
  await mkdir(path.dirname(plan.configFile), { recursive: true });
  await writeFile(plan.configFile, plan.configText, { mode: 0o644 });
}
