import { HEALTH_TIMEOUT_SECONDS, healthRepositories } from './health-check.js';
import type { PilotOptions } from './options.js';

/** A shell word that stays one word and means itself: single-quoted, a quote inside as '\''. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * `pilot.env`: what the entrypoint needs before HTCondor starts, as shell assignments it sources. Read this way, not
 * through condor_config_val (one process per value, tens of milliseconds each, on every slot's start).
 */
export function renderEntrypointSettings(o: PilotOptions): string {
  const settings: [name: string, value: string][] = [
    ['TOKEN_FILE', shellQuote(o.tokenFile)],
    ['HEARTBEAT_SECONDS', String(o.heartbeatSeconds)],
    ['MAX_LIFETIME_SECONDS', String(o.maxLifetimeSeconds)],
    ['MEMORY_MB', String(o.memoryMb)],
    ['EXECUTE_DIR', shellQuote(o.executeDir ?? '')],
    ['HEALTH_REPOSITORIES', `(${healthRepositories(o).map(shellQuote).join(' ')})`],
    ['HEALTH_MIN_FREE_MB', String(o.healthMinFreeMb)],
    ['HEALTH_TIMEOUT_SECONDS', String(HEALTH_TIMEOUT_SECONDS)],
  ];
  return [
    '# Settings of entrypoint.sh, rendered by docker-cernvm-pilot; edit the pilot options, not this file.',
    '# TOKEN_FILE is checked before HTCondor starts; MAX_LIFETIME_SECONDS 0 = never; MEMORY_MB auto = the container limit;',
    "# EXECUTE_DIR, when set, is handed to the condor account. HEALTH_* are the health check's (health-check.sh).",
    ...settings.map(([name, value]) => `${name}=${value}`),
    '',
  ].join('\n');
}
