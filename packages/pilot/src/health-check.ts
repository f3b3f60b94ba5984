import { readFileSync } from 'node:fs';
import type { ConfigSnippet } from './condor-config.js';
import { isWithin } from './mounts.js';
import type { PilotOptions } from './options.js';

/** The health check script, in the pilot directory beside the entrypoint. */
export const HEALTH_CHECK = 'health-check.sh';
/** Where the check keeps its verdict, relative to the pilot directory (the entrypoint copies it into the heartbeat). */
export const HEALTH_FILE = 'status/health';
/** A stat of a repository that takes longer than this counts as a hung mount. */
export const HEALTH_TIMEOUT_SECONDS = 5;

let scriptText: string | undefined;

/** The health check script, shipped beside this module (src/ in development, dist/ once built). */
export function healthCheckScript(): string {
  scriptText ??= readFileSync(new URL(`./${HEALTH_CHECK}`, import.meta.url), 'utf8');
  return scriptText;
}

/** The container paths under /cvmfs the slot mounts: each must answer for the slot to be healthy. */
export function healthRepositories(o: PilotOptions): string[] {
  return o.mounts.map((m) => m.target).filter((target) => isWithin(target, '/cvmfs'));
}

/** The startd runs the check as a periodic STARTD_CRON job; START then requires the slot healthy. */
export function healthSnippet(o: PilotOptions): ConfigSnippet | undefined {
  if (o.healthCheckSeconds === 0) return undefined;
  const job = 'STARTD_CRON_CERNVMHEALTH';
  const lines = [
    '# The slot health check: repositories answer, scratch takes files, the heartbeat is fresh.',
    '# Rendered by docker-cernvm-pilot; edit the pilot options, not this file.',
    '',
    'STARTD_CRON_JOBLIST = $(STARTD_CRON_JOBLIST) CERNVMHEALTH',
    `${job}_EXECUTABLE = ${o.pilotDir}/${HEALTH_CHECK}`,
    `${job}_MODE = Periodic`,
    `${job}_PERIOD = ${o.healthCheckSeconds}s`,
    '# A check still running at the next period is killed (its stat of a hung mount has a timeout of its own).',
    `${job}_KILL = True`,
    '# An unset CernvmHealthy (before the first check ends) does not hold a fresh slot back.',
    'START = ($(START)) && (CernvmHealthy =!= False)',
    '',
  ];
  return { name: '45-health.conf', content: lines.join('\n') };
}
