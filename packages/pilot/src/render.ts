import { readFileSync } from 'node:fs';
import { renderConfigSnippets, renderTopLevelConfig } from './condor-config.js';
import { renderEntrypointSettings } from './entrypoint-settings.js';
import { HEALTH_CHECK, healthCheckScript } from './health-check.js';
import type { PilotOptions } from './options.js';

/** One file of a slot's pilot directory, its path relative to that directory. */
export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
}

export const ENTRYPOINT = 'entrypoint.sh';
export const TOP_LEVEL_CONFIG = 'condor_config';
export const ENTRYPOINT_SETTINGS = 'pilot.env';
/** The one directory of a slot's /pilot that the slot may write, relative to the pilot directory. */
export const STATUS_DIR = 'status';
/** Where the entrypoint writes the heartbeat, relative to the pilot directory. */
export const HEARTBEAT_FILE = `${STATUS_DIR}/heartbeat.json`;

let entrypointText: string | undefined;

/** The entrypoint script, shipped beside this module (src/ in development, dist/ once built). */
export function entrypointScript(): string {
  entrypointText ??= readFileSync(new URL(`./${ENTRYPOINT}`, import.meta.url), 'utf8');
  return entrypointText;
}

/** Every file of one slot's pilot directory: the same options always give the same files, byte for byte. */
export function render(options: PilotOptions): RenderedFile[] {
  return [
    { path: TOP_LEVEL_CONFIG, content: renderTopLevelConfig(options), mode: 0o644 },
    ...renderConfigSnippets(options).map((s) => ({ path: `config.d/${s.name}`, content: s.content, mode: 0o644 })),
    ...tokenMountPoint(options),
    { path: HEALTH_CHECK, content: healthCheckScript(), mode: 0o755 },
    { path: ENTRYPOINT_SETTINGS, content: renderEntrypointSettings(options), mode: 0o644 },
    { path: ENTRYPOINT, content: entrypointScript(), mode: 0o755 },
  ];
}

/**
 * An empty file where the token is mounted when that is inside the pilot directory: the slot gets /pilot read-only,
 * so the engine cannot make the mount point there itself.
 */
function tokenMountPoint(options: PilotOptions): RenderedFile[] {
  const prefix = `${options.pilotDir.replace(/\/+$/, '')}/`;
  if (!options.tokenFile.startsWith(prefix)) return [];
  return [{ path: options.tokenFile.slice(prefix.length), content: '', mode: 0o600 }];
}
